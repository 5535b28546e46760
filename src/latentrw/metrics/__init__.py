"""Evaluation metrics as pure functions on features: FID, KID, precision/recall,
density/coverage, EMD and class statistics. See :mod:`latentrw.metrics.evaluate`
for the protocol that ties them to datasets and samples."""

from latentrw.metrics.classes import class_statistics, in_between_threshold
from latentrw.metrics.emd import emd, emd_subsampled
from latentrw.metrics.fid import fid, frechet_distance, gaussian_stats
from latentrw.metrics.kid import kid
from latentrw.metrics.prdc import prdc

__all__ = ["class_statistics", "emd", "emd_subsampled", "fid", "frechet_distance", "gaussian_stats",
           "in_between_threshold", "kid", "prdc"]
