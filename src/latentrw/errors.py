"""Exceptions with messages meant for the user: each names the problem and the fix."""


class LatentrwError(Exception):
    """Base class of every error latentrw raises on purpose."""


class DataError(LatentrwError):
    """A dataset file is missing, corrupt or fails its checksum."""


class CheckpointError(LatentrwError):
    """A checkpoint or run directory cannot be read as latentrw wrote it."""


class ConfigError(LatentrwError):
    """A configuration value or file is invalid."""


class TrainingDiverged(LatentrwError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


class SamplingError(LatentrwError):
    """A sampler cannot produce the samples asked for (a rejection step that accepts almost nothing)."""
