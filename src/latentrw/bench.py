"""The benchmark: every sampler on the same shipped generators, seeds apart, one JSONL record
per (checkpoint, sampler, seed) — the single source the report is built from.

A *suite* names shipped checkpoints (:mod:`latentrw.shipped`). For each checkpoint the bench
first records the real-vs-real floor, then for every sampler and seed draws N samples from
the seed's proposal stream with the checkpoint's trained w and calibrated D, evaluates them
against the test split, and appends the metrics and the cost per accepted image. A seed here
is a sampling seed (w and the calibrated D are the shipped ones); ``scripts/sampler_seeds.py``
retrains them per seed instead. For the first seed it also writes a sample grid (2-D: a
scatter) and, for samplers that select from their proposals, the acceptance histogram
(:mod:`latentrw.acceptance`); the record holds their paths (relative to the results file)
and sha256. Finished records are skipped, so an interrupted bench resumes.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from latentrw.acceptance import SELECTING, acceptance_histogram
from latentrw.data import as_exported, to_uint8_images
from latentrw.figures import reweight_figures
from latentrw.fileio import sha256_file
from latentrw.images import save_grid, save_scatter
from latentrw.metrics.evaluate import append_jsonl, evaluate_samples, floor, record, reference
from latentrw.reweight import load_w
from latentrw.run import LOG, load_run
from latentrw.sample import draw, make_sampler
from latentrw.samplers import SAMPLERS
from latentrw.samplers.base import ProposalStream
from latentrw.shipped import shipped

SUITES: dict[str, tuple[str, ...]] = {  # the shipped checkpoints of each suite
    "synthetic": ("swissroll", "25gaussians"),
    "mnist": ("mnist-mlp-ns", "mnist-mlp-wgan-gp"),
    "fashion-mnist": (),
}
# Step budgets of --quick and of the demo (ours, chosen to fit their time limits on 2 CPU cores;
# the report prints every sampler's options beside its row).
QUICK_OPTIONS: dict[str, dict] = {"mh-gan": {"k": 64}, "ddls": {"steps": 20}, "dot": {"steps": 10},
                                  "dgflow": {"steps": 10}}
IMAGE_METRICS = ("fid", "kid", "prdc", "classes")
ORDER = ("base", "latent-rs", "latent-rs-ga", "latent-sir", "latent-ga", "truncation", "drs", "sir", "mh-gan", "dot",
         "ddls", "dgflow")  # the default order of samplers in the bench and its tables
POINT_METRICS = ("prdc", "emd")


@dataclass
class BenchConfig:
    """What one bench runs. ``options``: per-sampler keyword arguments (step budgets)."""

    suite: str
    samplers: tuple[str, ...] = ()  # empty: every registered sampler
    seeds: tuple[int, ...] = (0, 1, 2)
    n: int = 10_000
    options: dict[str, dict] = field(default_factory=dict)
    checkpoints: tuple[str, ...] = ()  # empty: the suite's

    def resolved(self) -> "BenchConfig":
        if self.suite not in SUITES:
            raise ValueError(f"unknown suite {self.suite!r}; choose from {', '.join(SUITES)}")
        names = self.samplers or tuple(sorted(SAMPLERS.names(), key=lambda s: ORDER.index(s) if s in ORDER else 99))
        unknown = [s for s in names if s not in SAMPLERS.names()]
        if unknown:
            raise ValueError(f"unknown sampler(s) {', '.join(unknown)}; choose from {', '.join(SAMPLERS.names())}")
        checkpoints = self.checkpoints or SUITES[self.suite]
        if not checkpoints:
            raise ValueError(f"suite {self.suite!r} has no shipped checkpoint yet")
        if self.n < 1 or not self.seeds:
            raise ValueError("n must be >= 1 and at least one seed given")
        return BenchConfig(self.suite, tuple(names), tuple(self.seeds), self.n, self.options, tuple(checkpoints))


def _done(results: Path) -> set[tuple]:
    if not results.is_file():
        return set()
    return {(r["checkpoint"], r["sampler"], r["seed"]) for r in map(json.loads, results.read_text().splitlines())}


def _artifact(path: Path, results: Path) -> dict:
    return {"path": str(path.relative_to(results.parent)), "sha256": sha256_file(path)}


def bench(config: BenchConfig, results: Path | str, device: str = "cpu", progress=print) -> Path:
    """Run the bench, appending to ``results`` (JSONL); returns its path."""
    config, results = config.resolved(), Path(results)
    results.parent.mkdir(parents=True, exist_ok=True)
    art = results.parent / "artifacts"
    art.mkdir(exist_ok=True)
    done = _done(results)
    for ckpt in config.checkpoints:
        run_dir = shipped(ckpt)
        run = load_run(run_dir, device)
        dataset = run.config.dataset
        ref = reference(dataset)
        image = ref.data.kind == "image"
        metrics = IMAGE_METRICS if image else POINT_METRICS
        if (ckpt, "real", 0) not in done:  # the floor row, and the training log for the report
            n_floor = min(10_000, config.n) if image else config.n
            log = art / f"{ckpt}-train-log.jsonl"
            shutil.copyfile(run_dir / LOG, log)
            artifacts = {"train_log": _artifact(log, results)}
            # The paper's figures for this checkpoint's w (Fig. 2 on 2-D; Figs. 4 and 5 on images; w/m histogram).
            for path in reweight_figures(run, load_w(run_dir / "reweight", device), art / f"{ckpt}-figures"):
                artifacts[f"figure:{path.stem}"] = _artifact(path, results)
            append_jsonl(results, record(dataset, ckpt, "real", 0, n_floor, floor(dataset, n_floor, ref=ref), ref,
                                         checkpoint=ckpt, suite=config.suite, label="real vs real (floor)",
                                         artifacts=artifacts))
        for name in config.samplers:
            sampler = None
            for seed in config.seeds:
                if (ckpt, name, seed) in done:
                    continue
                sampler = sampler or make_sampler(name, run, run_dir, **config.options.get(name, {}))
                start = time.perf_counter()
                artifacts = {}
                if seed == config.seeds[0] and name in SELECTING:
                    hist, batch = acceptance_histogram(sampler, config.n, ProposalStream.from_seed(run.prior, seed))
                    path = art / f"{ckpt}-{name}-acceptance.json"
                    path.write_text(json.dumps(hist))
                    artifacts["acceptance_hist"] = _artifact(path, results)
                else:
                    batch = draw(sampler, run, config.n, seed)
                values = evaluate_samples(as_exported(batch.x), dataset, metrics, seed, ref=ref)
                if seed == config.seeds[0]:
                    path = art / f"{ckpt}-{name}-samples.png"
                    if image:
                        save_grid(to_uint8_images(batch.x[:64]).squeeze(1), path, nrow=8)
                    else:
                        save_scatter(batch.x[:2500], path, reference=ref.data.x_test[:2500], title=f"{ckpt}: {name}")
                    artifacts["samples"] = _artifact(path, results)
                cost = batch.cost.per_sample(config.n) | {"seconds": batch.cost.seconds,
                                                           "acceptance": config.n / max(batch.cost.proposals, 1)}
                append_jsonl(results, record(dataset, ckpt, name, seed, config.n, values, ref, checkpoint=ckpt,
                                             suite=config.suite, label=name, sampler_options=sampler.params(),
                                             cost=cost, artifacts=artifacts, device=str(device),
                                             wall_seconds=time.perf_counter() - start))
                progress(f"{ckpt} {name:<13} seed {seed}: " + " ".join(
                    f"{k}={v:.4g}" for k, v in values.items() if k in ("fid", "precision", "recall", "emd",
                                                                        "in_between")) + f" ms/image={cost['ms']:.3g}")
    return results



def demo_config(quick: bool = False) -> BenchConfig:
    """What ``latentrw demo`` runs: every sampler on the shipped MNIST checkpoints, with N and
    step budgets (ours) chosen so it ends in about 10 minutes on 2 CPU cores (--quick: 2)."""
    if quick:
        return BenchConfig("mnist", n=500, seeds=(0, 1), options=QUICK_OPTIONS,
                           checkpoints=SUITES["mnist"][:1]).resolved()
    return BenchConfig("mnist", n=1000, seeds=(0, 1, 2), options={"mh-gan": {"k": 160}, "ddls": {"steps": 100}}).resolved()
