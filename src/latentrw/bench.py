"""The benchmark: every sampler on the same shipped generators, seeds apart, one JSONL record
per (checkpoint, sampler, seed) — the single source the report is built from.

A *suite* names shipped checkpoints (:mod:`latentrw.shipped`; a run directory with ``reweight/``
and ``calibrated/`` inside may stand in for one). For each checkpoint the bench
first records the real-vs-real floor, then for every sampler and seed draws N samples from
the seed's proposal stream with the checkpoint's trained w and calibrated D, evaluates them
against the test split, and appends the metrics and the cost per accepted image. A seed here
is a sampling seed (w and the calibrated D are the shipped ones) unless ``retrain_per_seed``
trains them again with each seed (:mod:`latentrw.retrain`). For the first seed it also writes a
sample grid (2-D: a scatter) and, for samplers that select from their proposals, the acceptance histogram
(:mod:`latentrw.acceptance`); the record holds their paths (relative to the results file)
and sha256. *Sweeps* then draw a sampler at several values of one knob (the acceptance dial,
DRS's γ, truncation's ψ) on the first seed: records with ``knob`` and ``value``, from which the
report draws trade-off curves. Finished records are skipped, so an interrupted bench resumes.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from latentrw.acceptance import acceptance_histogram
from latentrw.config import TrainConfig
from latentrw.data import DATASETS, as_exported, to_uint8_images
from latentrw.errors import ConfigError
from latentrw.figures import reweight_figures
from latentrw.fileio import drop_partial_line, sha256_file
from latentrw.ga_steps import tuned_steps
from latentrw.images import save_grid, save_scatter
from latentrw.metrics.evaluate import ALL_METRICS, append_jsonl, evaluate_samples, floor, record, reference
from latentrw.progress import Progress
from latentrw.reweight import W_FILE, load_w
from latentrw.run import CONFIG, G_FILE, LOG, load_run
from latentrw.sample import draw, make_sampler
from latentrw.samplers import SAMPLERS
from latentrw.samplers.base import ProposalStream
from latentrw.samplers.calibrate import D_FILE
from latentrw.samplers.calibrate import DIR as CALIBRATED_DIR
from latentrw.shipped import resolve

SUITES: dict[str, tuple[str, ...]] = {  # the shipped checkpoints of each suite
    "synthetic": ("swissroll", "25gaussians"),
    "mnist": ("mnist-mlp-ns", "mnist-mlp-wgan-gp", "mnist-mlp-ns-gm", "mnist-cnn-ns", "mnist-cnn-hinge-gp"),
    "fashion-mnist": ("fashion-mnist-cnn-ns", "fashion-mnist-cnn-hinge-gp"),
}
# The demo's checkpoints: the three mlp generators (the cnn ones sample too slowly on 2 CPU cores
# for the demo's time; `latentrw bench mnist` includes them), its samplers (latent reweighting's,
# then the paper's rivals of Table 1) and metrics (KID would double the evaluation time).
DEMO_CHECKPOINTS = ("mnist-mlp-wgan-gp", "mnist-mlp-ns", "mnist-mlp-ns-gm")
DEMO_SAMPLERS = ("base", "latent-rs", "latent-rs-ga", "latent-sir", "drs", "truncation", "sir", "dot")
DEMO_METRICS = ("fid", "prdc", "classes")
# Step budgets of --quick and of the demo (ours, chosen to fit their time limits on 2 CPU cores;
# the report prints every sampler's options beside its row).
QUICK_OPTIONS: dict[str, dict] = {"mh-gan": {"k": 64}, "ddls": {"steps": 20}, "dot": {"steps": 10},
                                  "dgflow": {"steps": 10}}
# The knobs the demo sweeps (the acceptance dial; the seeds' DRS γ −8 and −5, hard truncation ψ 0.9 and 2).
DEMO_SWEEPS: tuple[tuple[str, str, tuple], ...] = (("latent-rs", "acceptance", (0.6, 0.33, 0.15)),
                                                   ("drs", "gamma", (-8, -5, -3)),
                                                   ("truncation", "psi", (0.9, 1.5, 2.0)))
IMAGE_METRICS = ("fid", "kid", "prdc", "classes")
POINT_METRICS = ("prdc", "emd", "emd_sq")
FLOOR = "real vs real (floor)"  # the label of the floor record
ORDER = ("base", "latent-rs", "latent-rs-ga", "latent-sir", "latent-ga", "truncation", "drs", "sir", "mh-gan", "dot",
         "ddls", "dgflow")  # the default order of samplers in the bench and its tables


@dataclass
class BenchConfig:
    """What one bench runs. ``options``: per-sampler keyword arguments (step budgets);
    ``sweeps``: per sampler a knob and its values, drawn on the first seed for trade-off curves;
    ``checkpoints``: shipped checkpoint names or run directories (with ``reweight/`` and
    ``calibrated/`` inside, as the samplers that need them expect)."""

    suite: str
    samplers: tuple[str, ...] = ()  # empty: every registered sampler
    seeds: tuple[int, ...] = (0, 1, 2)
    n: int = 10_000
    options: dict[str, dict] = field(default_factory=dict)
    checkpoints: tuple[str, ...] = ()  # empty: the suite's
    sweeps: tuple[tuple[str, str, tuple], ...] = ()
    metrics: tuple[str, ...] = ()  # empty: every metric of the data kind (IMAGE_METRICS / POINT_METRICS)
    w_dir: str | None = None  # another trained w than the checkpoint's reweight/ (one checkpoint only)
    calibrated_dir: str | None = None  # another calibrated D than its calibrated/ (one checkpoint only)
    retrain_per_seed: bool = False  # train w and the calibrated D again with each seed (latentrw.retrain)
    w_options: dict = field(default_factory=dict)  # with retrain_per_seed: ReweightConfig fields
    calibration_options: dict = field(default_factory=dict)  # with retrain_per_seed: CalibrationConfig fields
    floor_per_seed: bool = False  # a floor record per seed (at small N one draw of the floor is noisy)
    tune_ga: bool = False  # with retrain_per_seed: tune latentGA's steps for each seed's w on n samples each

    def resolved(self) -> BenchConfig:
        if self.suite not in SUITES:
            raise ValueError(f"unknown suite {self.suite!r}; choose from {', '.join(SUITES)}")
        names = self.samplers or tuple(sorted(SAMPLERS.names(), key=lambda s: ORDER.index(s) if s in ORDER else 99))
        unknown = [s for s in (*names, *self.options, *(w[0] for w in self.sweeps)) if s not in SAMPLERS.names()]
        if unknown:
            raise ValueError(f"unknown sampler(s) {', '.join(unknown)}; choose from {', '.join(SAMPLERS.names())}")
        for name, opts in [*self.options.items(), *((w[0], {w[1]: None}) for w in self.sweeps)]:
            takes = set(SAMPLERS.get(name).options())
            if set(opts) - takes:  # checked before hours of sampling, not when the sweep starts
                raise ValueError(f"sampler {name} takes no option {', '.join(sorted(set(opts) - takes))}; "
                                 f"it takes {', '.join(sorted(takes))}")
        checkpoints = self.checkpoints or SUITES[self.suite]
        if not checkpoints:
            raise ValueError(f"suite {self.suite!r} has no shipped checkpoint yet")
        names_of = [resolve(c)[0] for c in checkpoints]
        if len(set(names_of)) != len(names_of):
            raise ValueError(f"checkpoints {', '.join(checkpoints)} share a name; give run directories distinct names")
        if set(self.metrics) - set(ALL_METRICS):
            raise ValueError(f"unknown metric(s) {', '.join(sorted(set(self.metrics) - set(ALL_METRICS)))}; "
                             f"choose from {', '.join(ALL_METRICS)}")
        if self.retrain_per_seed and (self.w_dir or self.calibrated_dir):
            raise ValueError("--retrain-per-seed trains w and D for each seed; it takes no --w-dir or --calibrated-dir")
        if self.tune_ga and not {"latent-ga", "latent-rs-ga"} & {*names, *(w[0] for w in self.sweeps)}:
            raise ValueError("--tune-ga tunes latentGA's steps: add latent-ga or latent-rs-ga to --samplers")
        if self.tune_ga and self.n < 100:
            raise ValueError("--tune-ga draws N samples per candidate step count: N must be >= 100")
        if (self.w_options or self.calibration_options or self.tune_ga) and not self.retrain_per_seed:
            raise ValueError("w and calibration options and --tune-ga apply with --retrain-per-seed "
                             "(a trained w is tuned with `latentrw tune-ga RUN --w-dir DIR`)")
        if self.retrain_per_seed:
            from latentrw.retrain import check_options

            check_options(self.w_options, self.calibration_options)
        if (self.w_dir or self.calibrated_dir) and len(checkpoints) != 1:
            raise ValueError("a w or calibrated-D directory belongs to one checkpoint; give one with --checkpoints")
        if self.n < 1 or not self.seeds:
            raise ValueError("n must be >= 1 and at least one seed given")
        return replace(self, samplers=tuple(names), seeds=tuple(self.seeds), checkpoints=tuple(checkpoints))


def _done(results: Path) -> dict[tuple, dict]:
    """``{(checkpoint, label, seed): fingerprint}`` of the bench records already in ``results``
    (other lines, e.g. from `latentrw evaluate --results`, are left alone)."""
    out = {}
    if results.is_file():
        for line in results.read_text().splitlines():
            try:
                r = json.loads(line)
                out[(r["checkpoint"], r["label"], r["seed"])] = r["fingerprint"]
            except (ValueError, KeyError, TypeError):
                continue
    return out


def _artifact(path: Path, results: Path) -> dict:
    return {"path": str(path.relative_to(results.parent)), "sha256": sha256_file(path)}


def _is_points(run_dir: Path) -> bool:
    """Whether a checkpoint's dataset is 2-D points (read from its config, nothing loaded)."""
    return DATASETS.get(TrainConfig.load(run_dir / CONFIG).dataset).kind == "points"


class _Bench:
    """One checkpoint's part of a bench: its run, reference and where records go."""

    def __init__(self, config: BenchConfig, results: Path, name: str, run_dir: Path, device, progress):
        self.config, self.results, self.progress = config, results, progress
        self.name, self.run_dir = name, run_dir
        self.run = load_run(self.run_dir, device)
        self.dataset = self.run.config.dataset
        self.ref = reference(self.dataset)
        self.image = self.ref.data.kind == "image"
        self.art = results.parent / "artifacts"
        self.art.mkdir(exist_ok=True)

    def models(self, seed: int, requires: tuple[str, ...] = ("w",)) -> dict:
        """Where the w and calibrated D of ``seed`` are: the checkpoint's own (or --w-dir,
        --calibrated-dir), or, with --retrain-per-seed, those trained with this seed."""
        if not self.config.retrain_per_seed:
            return {"w_dir": self.config.w_dir, "calibrated_dir": self.config.calibrated_dir}
        from latentrw.retrain import seed_models

        return seed_models(self.run, self.results.parent / "models" / self.name, seed, "w" in requires,
                           "disc" in requires, self.config.w_options, self.config.calibration_options,
                           tune_ga=self.config.tune_ga, tune_n=self.config.n,
                           say=lambda line: self.progress(f"{self.name} {line}"))

    def _figure_w_dir(self) -> Path | None:
        """The w the paper's figures are drawn for: the first seed's when w is trained per seed
        (and a sampler needs it), else the checkpoint's (or --w-dir); None when there is none."""
        if self.config.retrain_per_seed:
            if any("w" in SAMPLERS.get(s).requires for s in self.config.samplers):
                return self.models(self.config.seeds[0])["w_dir"]
        directory = Path(self.config.w_dir) if self.config.w_dir else self.run_dir / "reweight"
        return directory if (directory / W_FILE).is_file() else None

    def make(self, name: str, options: dict, seed: int):
        """The fitted sampler and the per-seed models it uses, or None (said, not recorded) when it
        does not apply to this checkpoint, e.g. truncation on a Gaussian-mixture prior."""
        requires = SAMPLERS.get(name).requires
        models = self.models(seed, requires) if {"w", "disc"} & set(requires) else {}
        try:
            sampler = make_sampler(name, self.run, self.run_dir, models.get("w_dir"),
                                   calibrated_dir=models.get("calibrated_dir"), **options)
        except ValueError as exc:
            self.progress(f"{self.name} {name:<13} skipped: {exc}")
            return None
        return sampler, {k: str(v) if isinstance(v, Path) else v for k, v in models.items() if v is not None}

    def record(self, sampler: str, seed: int, n: int, values: dict, **extra) -> None:
        append_jsonl(self.results, record(self.dataset, self.name, sampler, seed, n, values, self.ref,
                                          checkpoint=self.name, suite=self.config.suite, **extra))

    def floor(self, fingerprint: dict, seed: int = 0, first: bool = True) -> None:
        """The real-vs-real row of ``seed``; the first one also keeps the training log and the
        paper's figures for this w."""
        n = fingerprint["n"]
        artifacts = {}
        if first and (self.run_dir / LOG).is_file():  # an imported outside GAN has no training log
            log = self.art / f"{self.name}-train-log.jsonl"
            shutil.copyfile(self.run_dir / LOG, log)
            artifacts["train_log"] = _artifact(log, self.results)
        if first and (w_dir := self._figure_w_dir()) is not None:
            w = load_w(w_dir, self.run.prior.device)
            for path in reweight_figures(self.run, w, self.art / f"{self.name}-figures"):  # Fig. 2 / 4 / 5, w/m
                artifacts[f"figure:{path.stem}"] = _artifact(path, self.results)
        self.record("real", seed, n, floor(self.dataset, n, ref=self.ref, seed=seed), label=FLOOR,
                    artifacts=artifacts, fingerprint=fingerprint)

    def sample(self, name: str, sampler, seed: int, label: str, first: bool, fingerprint: dict, **extra) -> str:
        """Draw, evaluate and record one (sampler, seed); on the first seed keep a grid and,
        for selecting samplers, the acceptance histogram. Returns a line of its figures."""
        n, artifacts, start = self.config.n, {}, time.perf_counter()
        stem = f"{self.name}-{label}-s{seed}".replace(" ", "_")
        if first and sampler.selects_by:
            hist, batch = acceptance_histogram(sampler, n, ProposalStream.from_seed(self.run.prior, seed))
            path = self.art / f"{stem}-acceptance.json"
            path.write_text(json.dumps(hist))
            artifacts["acceptance_hist"] = _artifact(path, self.results)
        else:
            batch = draw(sampler, self.run, n, seed)
        metrics = self.config.metrics or (IMAGE_METRICS if self.image else POINT_METRICS)
        values = evaluate_samples(as_exported(batch.x), self.dataset, metrics, seed, ref=self.ref)
        if first:
            path = self.art / f"{stem}-samples.png"
            if self.image:
                save_grid(to_uint8_images(batch.x[:64]).squeeze(1), path, nrow=8)
            else:
                save_scatter(batch.x[:2500], path, reference=self.ref.data.x_test[:2500], title=f"{self.name}: {label}")
            artifacts["samples"] = _artifact(path, self.results)
        cost = batch.cost.per_sample(n) | {"seconds": batch.cost.seconds,
                                           "acceptance": n / max(batch.cost.proposals, 1)}
        self.record(name, seed, n, values, label=label, sampler_options=sampler.params(), cost=cost,
                    artifacts=artifacts, device=str(self.run.prior.device), wall_seconds=time.perf_counter() - start,
                    fingerprint=fingerprint, **extra)
        shown = ("fid", "precision", "recall", "emd", "in_between")
        return (f"{self.name} {label:<13} seed {seed}: " + " ".join(
            f"{k}={v:.4g}" for k, v in values.items() if k in shown) + f" ms/image={cost['ms']:.3g}")



@dataclass(frozen=True)
class _Task:
    """One record to make: the floor, a sampler on a seed, or one value of a sweep."""

    checkpoint: str
    label: str
    sampler: str
    seed: int
    options: dict = field(default_factory=dict, hash=False)
    first: bool = False  # the first seed: keep a sample grid and the acceptance histogram
    sweep: dict = field(default_factory=dict, hash=False)  # {"knob": ..., "value": ...}


def _plan(config: BenchConfig) -> list[_Task]:
    """Every record the bench makes, in order: per checkpoint the floor, each sampler on each
    seed, then the sweeps on the first seed."""
    tasks = []
    for ckpt in config.checkpoints:
        floor_seeds = config.seeds if config.floor_per_seed else (0,)
        tasks += [_Task(ckpt, FLOOR, "real", seed, first=i == 0) for i, seed in enumerate(floor_seeds)]
        for name in config.samplers:
            tasks += [_Task(ckpt, name, name, seed, config.options.get(name, {}), i == 0)
                      for i, seed in enumerate(config.seeds)]
        for name, knob, values in config.sweeps:
            tasks += [_Task(ckpt, f"{name} {knob}={value:g}", name, config.seeds[0],
                            {**config.options.get(name, {}), knob: value}, sweep={"knob": knob, "value": value})
                      for value in values]
    return tasks


def bench(config: BenchConfig, results: Path | str, device: str = "cpu",
          progress: Callable[[str], None] | None = None) -> Path:
    """Run the bench, appending to ``results`` (JSONL); returns its path. Finished records
    (checkpoint, label, seed) are skipped, so an interrupted bench resumes; a record made with another
    N, other options or another generator is an error, never mixed in. ``progress`` receives a
    line per record (None: a progress bar with an ETA on stdout); the last line gives the wall
    and CPU time."""
    config, results = config.resolved(), Path(results)
    results.parent.mkdir(parents=True, exist_ok=True)
    drop_partial_line(results)
    done = _done(results)
    where = {c: _Where(*resolve(c), config) for c in config.checkpoints}  # resolved and verified once
    todo = [t for t in _plan(config) if _todo(results, done, where[t.checkpoint].name, t,
                                              _fingerprint(config, t, where[t.checkpoint]))]
    bar = Progress(len(todo), echo=progress)
    skipped: set[tuple[str, str]] = set()  # (checkpoint, sampler) that does not apply
    n_skipped = 0
    for ckpt in dict.fromkeys(t.checkpoint for t in todo):
        b = _Bench(config, results, where[ckpt].name, where[ckpt].run_dir, device, bar.note)
        samplers: dict[str, object] = {}
        for t in (t for t in todo if t.checkpoint == ckpt):
            fp = _fingerprint(config, t, where[ckpt])
            if t.sampler == "real":
                b.floor(fp, t.seed, t.first)
                bar.advance(f"{b.name} {FLOOR}")
                continue
            # one fitted sampler per options (and per seed when w and D are trained per seed)
            key = json.dumps([t.sampler, t.options, t.seed if config.retrain_per_seed else None], sort_keys=True)
            if (ckpt, t.sampler) not in skipped and key not in samplers:
                samplers[key] = b.make(t.sampler, t.options, t.seed)
                if samplers[key] is None:
                    skipped.add((ckpt, t.sampler))
            if (ckpt, t.sampler) in skipped:
                bar.advance(f"{b.name} {t.label:<13} skipped")
                n_skipped += 1
                continue
            sampler, models = samplers[key]
            bar.advance(b.sample(t.sampler, sampler, t.seed, t.label, t.first, fp, **t.sweep,
                                 **({"models": models} if models else {})))
    bar.close()
    said = f" ({n_skipped} skipped: the sampler does not apply)" if n_skipped else ""
    (progress or print)(f"bench: {len(todo) - n_skipped} records{said}, {bar.watch.summary()}")
    return results


class _Where:
    """A checkpoint argument resolved: its name, run directory, data kind, and the sha256 of the
    models the samplers use (G, w and the calibrated D, where they exist)."""

    def __init__(self, name: str, run_dir: Path, config: BenchConfig):
        self.name, self.run_dir = name, run_dir
        self.points = _is_points(run_dir)
        self.models = {"G_sha256": sha256_file(run_dir / G_FILE)}
        if config.retrain_per_seed:  # w and D are trained by the bench: their recipe, not their files
            from latentrw.retrain import recipe_fingerprint

            self.models["retrain"] = recipe_fingerprint(config.w_options, config.calibration_options)
            if config.tune_ga:  # latent-rs-ga's records then ran each seed's tuned steps
                self.models["retrain"]["tune_ga"] = True
            return
        needed = {r for name in config.samplers for r in SAMPLERS.get(name).requires}
        for key, need, directory, file, make in (
                ("w_sha256", "w", config.w_dir or run_dir / "reweight", W_FILE, "latentrw reweight"),
                ("D_sha256", "disc", config.calibrated_dir or run_dir / CALIBRATED_DIR, D_FILE, "latentrw calibrate")):
            path = Path(directory) / file
            if path.is_file():
                self.models[key] = sha256_file(path)
                if key == "w_sha256" and (steps := tuned_steps(directory)) is not None:
                    self.models["ga_steps"] = steps  # tuned later: a resume is refused, not mixed
            elif need in needed:  # refused before anything runs, not when the first such sampler does
                raise ConfigError(f"{path} is missing, and samplers of this bench need it: run `{make} {run_dir}`, "
                                  "or pass --retrain-per-seed, or leave those samplers out")


def _fingerprint(config: BenchConfig, task: _Task, where: _Where) -> dict:
    """What a record's numbers depend on besides its seed: resuming into a results file written
    with another N, other options or metrics, or another generator is refused, not mixed."""
    if task.sampler == "real":  # the floor: every metric, at most 10,000 images
        n = config.n if where.points else min(10_000, config.n)
        return {"n": n, "options": {}, "G_sha256": where.models["G_sha256"]}
    return {"n": config.n, "options": task.options, "metrics": list(config.metrics), **where.models}


def _todo(results: Path, done: dict, name: str, task: _Task, fingerprint: dict) -> bool:
    key = (name, task.label, task.seed)
    if key in done and done[key] != fingerprint:
        raise ConfigError(f"{results} already holds {task.label} (seed {task.seed}) of {name} made with "
                          f"{done[key]}, not {fingerprint}: use another --out, or delete the file to start over")
    return key not in done


def demo_config(mode: str = "default") -> BenchConfig:
    """What ``latentrw demo`` runs (``mode``: ``default``, ``quick`` or ``full``), all with the
    step budgets of ``--quick`` (ours, printed beside the table).

    ``default``: the three mlp generators, latent reweighting's samplers beside base, truncation
    and the paper's rivals (DRS, SIR, DOT), 1,000 samples over 3 seeds, FID, precision/recall,
    density/coverage and the class statistics (no KID); ``quick``: one generator, 500 samples,
    2 seeds; ``full``: every sampler, every metric and the sweeps of the knobs."""
    if mode == "quick":
        return BenchConfig("mnist", DEMO_SAMPLERS[:5], seeds=(0, 1), n=500, options=QUICK_OPTIONS,
                           checkpoints=DEMO_CHECKPOINTS[:1], metrics=DEMO_METRICS).resolved()
    if mode == "full":
        return BenchConfig("mnist", n=1000, options=QUICK_OPTIONS, checkpoints=DEMO_CHECKPOINTS,
                           sweeps=DEMO_SWEEPS).resolved()
    if mode != "default":
        raise ValueError(f"unknown demo mode {mode!r}; choose default, quick or full")
    return BenchConfig("mnist", DEMO_SAMPLERS, n=1000, options=QUICK_OPTIONS, checkpoints=DEMO_CHECKPOINTS,
                       metrics=DEMO_METRICS).resolved()
