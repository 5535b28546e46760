"""Per-seed models for ``latentrw bench --retrain-per-seed``: w and the calibrated D trained
again with each sampling seed, so that the spread over seeds includes the training of w and D,
not only the sampling.

Each seed's models go to ``OUT/models/CHECKPOINT/reweight-s{seed}`` and ``calibrated-s{seed}``,
with the recipe that made them in ``recipe.json`` and the seconds their training took in
``seconds.txt`` (written last: the mark of a finished model). A finished model of the same recipe is
reused, an interrupted w training continues from its last checkpoint, another recipe is refused.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path

from latentrw.data import load_dataset
from latentrw.errors import ConfigError
from latentrw.features import get_extractor
from latentrw.fileio import atomic_write_json, sha256_file
from latentrw.ga_steps import tune_ga_steps, tuned_steps
from latentrw.reweight import ReweightConfig, critic_gp_weight
from latentrw.run import G_FILE, Run
from latentrw.samplers.calibrate import CalibrationConfig, calibrate, run_gp_weight
from latentrw.w_trainer import WTrainer, w_agreement

SECONDS, RECIPE = "seconds.txt", "recipe.json"


def reweight_config(run: Run, seed: int, options: dict) -> ReweightConfig:
    """The default w configuration for ``run`` with ``seed`` and the user's ``options``."""
    base = ReweightConfig(seed=seed, gp_weight=critic_gp_weight(run.config))
    return _replace(base, options, "w option")


def calibration_config(run: Run, seed: int, options: dict) -> CalibrationConfig:
    """The default calibration for ``run`` with ``seed`` and the user's ``options``."""
    return _replace(CalibrationConfig(seed=seed, gp_weight=run_gp_weight(run.config)), options, "calibration option")


def recipe_fingerprint(w_options: dict, calibration_options: dict) -> dict:
    """The options w and the calibrated D are trained with, defaults resolved (without the seed and
    the run-dependent penalty weight): a bench's records stay tied to the recipe even when a default
    changes, not only to the options the user named."""
    def resolved(fields: dict) -> dict:  # as JSON holds it (tuples become lists), so records compare equal
        return json.loads(json.dumps({k: v for k, v in fields.items() if k not in ("seed", "gp_weight")}))

    return {"w": resolved(_replace(ReweightConfig(), w_options, "w option").to_dict()),
            "calibration": resolved(dataclasses.asdict(_replace(CalibrationConfig(), calibration_options,
                                                                "calibration option")))}


def check_options(w_options: dict, calibration_options: dict) -> None:
    """Refuse unknown options before anything trains (a clear error naming the known ones)."""
    recipe_fingerprint(w_options, calibration_options)


def _replace(config, options: dict, what: str):
    unknown = set(options) - {f.name for f in dataclasses.fields(config)} - {"seed"}
    if unknown or "seed" in options:
        raise ConfigError(f"unknown or reserved {what}(s) {', '.join(sorted(unknown | ({'seed'} & set(options))))}; "
                          f"the seed is the bench's, the others are {', '.join(f.name for f in dataclasses.fields(config))}")
    return dataclasses.replace(config, **options)


def seed_models(run: Run, out: Path, seed: int, need_w: bool, need_disc: bool, w_options: dict,
                calibration_options: dict, say=lambda line: None, tune_ga: bool = False, tune_n: int = 5000) -> dict:
    """Train (or reuse) what the samplers of this seed need; returns ``{"w_dir", "calibrated_dir",
    "w_seconds", "w_spearman", "calibration_seconds"}`` for those needed (``w_spearman``: w against
    its final critic on held-out latents, :func:`latentrw.w_trainer.w_agreement`; for a w trained with
    ``d_weight`` > 0 also ``w_reward_spearman``, w against the reward it was trained on), and w's tuned
    latentGA steps (``ga_steps``; with ``tune_ga`` tuned once on ``tune_n`` samples per candidate:
    :mod:`latentrw.ga_steps`). ``say``
    hears of each training started.

    A model is reused only when finished (its ``seconds.txt`` is written last) and made by the same
    recipe (its configuration and G's sha256, in ``recipe.json``); an interrupted w training
    resumes from its last checkpoint; another recipe in the same folder is an error."""
    found: dict = {}
    g_sha256 = sha256_file(run.path / G_FILE)
    real = None

    def training_split():
        nonlocal real
        if real is None:
            real = load_dataset(run.config.dataset).model_input("train", run.prior.device)
        return real

    if need_w:
        w_dir, cfg = out / f"reweight-s{seed}", reweight_config(run, seed, w_options)
        if _needs_training(w_dir, {"config": cfg.to_dict(), "G_sha256": g_sha256},
                           lambda saved: ReweightConfig.from_dict(saved).to_dict()):
            say(f"seed {seed}: training w into {w_dir}")
            _timed(w_dir, lambda: WTrainer(run.G, run.D, run.prior, training_split(), cfg, w_dir).fit())
        agreement = w_agreement(run.G, run.D, run.prior, w_dir)
        found |= {"w_dir": w_dir, "w_seconds": _seconds(w_dir), "w_spearman": agreement["spearman_w_critic"]}
        if "spearman_w_reward" in agreement:
            found["w_reward_spearman"] = agreement["spearman_w_reward"]
        steps = tuned_steps(w_dir)  # None also for a tuning of an earlier w: then tuned again
        if tune_ga and steps is None:
            say(f"seed {seed}: tuning latentGA's steps for {w_dir}")
            steps = tune_ga_steps(run, w_dir, n=tune_n, progress=lambda line: say(f"seed {seed}: {line}"))["steps"]
        if steps is not None:  # the GA samplers run it: the record says so
            found["ga_steps"] = steps
    if need_disc:
        cal_dir, cal = out / f"calibrated-s{seed}", calibration_config(run, seed, calibration_options)
        if _needs_training(cal_dir, {"config": dataclasses.asdict(cal), "G_sha256": g_sha256}):
            say(f"seed {seed}: calibrating D into {cal_dir}")
            _timed(cal_dir, lambda: calibrate(run, training_split(), cal, cal_dir, get_extractor(run.config.dataset)))
        found |= {"calibrated_dir": cal_dir, "calibration_seconds": _seconds(cal_dir)}
    return found


def _needs_training(directory: Path, recipe: dict, read_config: Callable[[dict], dict] | None = None) -> bool:
    """False when ``directory`` holds a finished model of this ``recipe``; True when it holds none
    or an unfinished one (the recipe is written before training starts); an error for another recipe.
    ``read_config`` reads a saved recipe's config as today's config would hold it (fields newer than
    the recipe at their defaults, as resuming a w training reads its config.json)."""
    path = directory / RECIPE
    if path.is_file():
        found = json.loads(path.read_text())
        if read_config and isinstance(found.get("config"), dict):
            found["config"] = json.loads(json.dumps(read_config(found["config"])))
        if found != json.loads(json.dumps(recipe)):
            raise ConfigError(f"{directory} holds a model made with {found}, not {recipe}: use another --out, "
                              "or delete that folder to train it again")
        return not (directory / SECONDS).is_file()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / SECONDS).unlink(missing_ok=True)
    atomic_write_json(path, recipe)
    return True


def _timed(directory: Path, fit) -> None:
    """Run ``fit``, then write its seconds to ``directory/seconds.txt``, the mark of a finished
    model (a training resumed after an interruption counts only the run that finished it)."""
    start = time.perf_counter()
    fit()
    (directory / SECONDS).write_text(f"{time.perf_counter() - start:.1f}\n")


def _seconds(directory: Path) -> float | None:
    path = directory / SECONDS
    return float(path.read_text()) if path.is_file() else None
