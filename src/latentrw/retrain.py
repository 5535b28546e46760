"""Per-seed models for ``latentrw bench --retrain-per-seed``: w and the calibrated D trained
again with each sampling seed, so that the spread over seeds includes the training of w and D,
not only the sampling.

Each seed's models go to ``OUT/models/CHECKPOINT/reweight-s{seed}`` and ``calibrated-s{seed}``,
with the seconds their training took in ``seconds.txt``. Both resume: an interrupted w training
continues from its last checkpoint, a finished one (or a finished calibration) is reused.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from latentrw.data import load_dataset
from latentrw.errors import ConfigError
from latentrw.metrics.features import get_extractor
from latentrw.reweight import W_FILE, ReweightConfig, critic_gp_weight
from latentrw.run import Run
from latentrw.samplers.calibrate import D_FILE, CalibrationConfig, calibrate, run_gp_weight
from latentrw.w_trainer import WTrainer

SECONDS = "seconds.txt"


def reweight_config(run: Run, seed: int, options: dict) -> ReweightConfig:
    """The default w configuration for ``run`` with ``seed`` and the user's ``options``."""
    base = ReweightConfig(seed=seed, gp_weight=critic_gp_weight(run.config))
    return _replace(base, options, "w option")


def calibration_config(run: Run, seed: int, options: dict) -> CalibrationConfig:
    """The default calibration for ``run`` with ``seed`` and the user's ``options``."""
    return _replace(CalibrationConfig(seed=seed, gp_weight=run_gp_weight(run.config)), options, "calibration option")


def check_options(w_options: dict, calibration_options: dict) -> None:
    """Refuse unknown options before anything trains (a clear error naming the known ones)."""
    _replace(ReweightConfig(), w_options, "w option")
    _replace(CalibrationConfig(), calibration_options, "calibration option")


def _replace(config, options: dict, what: str):
    unknown = set(options) - {f.name for f in dataclasses.fields(config)} - {"seed"}
    if unknown or "seed" in options:
        raise ConfigError(f"unknown or reserved {what}(s) {', '.join(sorted(unknown | ({'seed'} & set(options))))}; "
                          f"the seed is the bench's, the others are {', '.join(f.name for f in dataclasses.fields(config))}")
    return dataclasses.replace(config, **options)


def seed_models(run: Run, out: Path, seed: int, need_w: bool, need_disc: bool, w_options: dict,
                calibration_options: dict, say=lambda line: None) -> dict:
    """Train (or reuse) what the samplers of this seed need; returns ``{"w_dir", "calibrated_dir",
    "w_seconds", "calibration_seconds"}`` for those needed. ``say`` hears of each training started."""
    found: dict = {}
    real = None
    if need_w:
        w_dir = out / f"reweight-s{seed}"
        if not (w_dir / W_FILE).is_file():
            say(f"seed {seed}: training w into {w_dir}")
            real = load_dataset(run.config.dataset).model_input("train", run.prior.device)
            _timed(w_dir, lambda: WTrainer(run.G, run.D, run.prior, real, reweight_config(run, seed, w_options),
                                           w_dir).fit())
        found |= {"w_dir": w_dir, "w_seconds": _seconds(w_dir)}
    if need_disc:
        cal_dir = out / f"calibrated-s{seed}"
        if not (cal_dir / D_FILE).is_file():
            say(f"seed {seed}: calibrating D into {cal_dir}")
            real = real if real is not None else load_dataset(run.config.dataset).model_input("train", run.prior.device)
            _timed(cal_dir, lambda: calibrate(run, real, calibration_config(run, seed, calibration_options), cal_dir,
                                              get_extractor(run.config.dataset)))
        found |= {"calibrated_dir": cal_dir, "calibration_seconds": _seconds(cal_dir)}
    return found


def _timed(directory: Path, fit) -> None:
    """Run ``fit`` and write its seconds to ``directory/seconds.txt`` (a training resumed after an
    interruption counts only the run that finished it)."""
    start = time.perf_counter()
    fit()
    (directory / SECONDS).write_text(f"{time.perf_counter() - start:.1f}\n")


def _seconds(directory: Path) -> float | None:
    path = directory / SECONDS
    return float(path.read_text()) if path.is_file() else None
