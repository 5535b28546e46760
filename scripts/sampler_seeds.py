"""Post-hoc samplers over seeds on one trained run (the commands of the recorded tables in
docs/results.md; the package's equivalent is `latentrw bench SUITE --checkpoints RUN
--retrain-per-seed`, which draws the same samples from the same per-seed w and D: on swissroll,
seed 0, base / latent-rs / drs gave identical metrics). For each seed: train w (and its critic)
with that seed on the same G if a latent-* sampler is asked for, calibrate a copy of D with
that seed if a density-ratio sampler (drs, mh-gan, sir, ddls, dgflow) is, then draw N samples
with each sampler (proposals from that seed) and evaluate them. One JSONL record per (seed,
sampler); finished ones are skipped and trained w / calibrated D reused, so re-running resumes.
Prints mean ± t-based 95 % CI over seeds (latentrw.stats.mean_ci), then each sampler's
difference from base paired by seed (latentrw.stats.paired_diff_ci: all samplers of a seed draw
from that seed's proposal stream, so the pairs share its luck).

    python scripts/sampler_seeds.py runs/t1/25gaussians --seeds 0,1,2 --metrics emd,prdc
    python scripts/sampler_seeds.py runs/table/mnist-mlp-ns --metrics fid,prdc,classes
    python scripts/sampler_seeds.py runs/table/mnist-mlp-ns --samplers base,truncation,drs,sir,mh-gan,dot \
        --option mh-gan:k=640 --results runs/table/mnist-mlp-ns/rivals.jsonl
    python scripts/sampler_seeds.py runs/table/mnist-mlp-ns --table     # print the table again
    python scripts/sampler_seeds.py runs/t1/swissroll --trainer algorithm1 --steps 6000 --samplers base,latent-rs \
        --metrics emd,prdc --results runs/t1/swissroll/w6000.jsonl   # w trained into RUN/reweight-algorithm16000-s{seed}
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import time
from pathlib import Path

import torch

from latentrw.checkpoint import load_tensors
from latentrw.data import as_exported, load_dataset
from latentrw.metrics.evaluate import append_jsonl, evaluate_samples, record, reference
from latentrw.metrics.features import get_extractor
from latentrw.report import PAIRED_NOTE, paired_table, summarise
from latentrw.reweight import ReweightConfig, critic_gp_weight
from latentrw.run import load_run
from latentrw.sample import draw, make_sampler
from latentrw.samplers import SAMPLERS as REGISTRY
from latentrw.samplers.calibrate import D_FILE, CalibrationConfig, calibrate, run_gp_weight
from latentrw.specs import parse_options
from latentrw.stats import mean_ci
from latentrw.w_trainer import STATE, WTrainer

SAMPLERS = "base,latent-rs,latent-rs-ga,latent-sir,latent-ga"


def train_seed(run_dir: Path, run, real: torch.Tensor, seed: int, budget: int | None = None,
               trainer: str = ReweightConfig.trainer) -> Path:
    """w of one seed; ``budget`` in the trainer's units (rounds or w-steps) [its default]."""
    cfg = ReweightConfig(trainer=trainer, seed=seed, gp_weight=critic_gp_weight(run.config))
    if budget is not None:
        cfg = dataclasses.replace(cfg, **{"rounds" if trainer == "bank" else "steps": budget})
    # The default configuration is RUN/reweight-s{seed}; another gets its own directory (copy a
    # shorter one there first to continue it: w training resumes at any larger budget).
    default = cfg == ReweightConfig(seed=seed, gp_weight=cfg.gp_weight)
    out = run_dir / (f"reweight-s{seed}" if default else f"reweight-{trainer}{cfg.total}-s{seed}")
    state = out / STATE
    before = int(load_tensors(state)[1]["step"]) if state.is_file() else 0
    steps = cfg.total
    start = time.perf_counter()
    WTrainer(run.G, run.D, run.prior, real, cfg, out).fit()
    # seconds.txt: w-training seconds of the sittings that finished, summed, so that a budget continued
    # from a shorter one (or a resumed run) records its whole time, and a finished one is not re-timed.
    seconds_file = out / "seconds.txt"
    if before < steps:
        earlier = float(seconds_file.read_text()) if before > 0 and seconds_file.exists() else 0.0
        seconds_file.write_text(f"{earlier + time.perf_counter() - start:.1f}\n")
    return out


def calibrate_seed(run_dir: Path, run, real: torch.Tensor, seed: int) -> Path:
    out = run_dir / f"calibrated-s{seed}"
    if not (out / D_FILE).is_file():
        start = time.perf_counter()
        calibrate(run, real, CalibrationConfig(seed=seed, gp_weight=run_gp_weight(run.config)), out,
                  get_extractor(run.config.dataset))
        (out / "seconds.txt").write_text(f"{time.perf_counter() - start:.1f}\n")
    return out


def takes(name: str, param: str) -> bool:
    return param in inspect.signature(REGISTRY.get(name)).parameters


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--samplers", default=SAMPLERS)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--trainer", default=ReweightConfig.trainer, help="w trainer: bank or algorithm1")
    ap.add_argument("--steps", type=int, default=None, help="w budget per seed: rounds (bank) or w-steps "
                    "(algorithm1) [the trainer's default]")
    ap.add_argument("--metrics", default="fid,prdc,classes")
    ap.add_argument("--option", action="append", default=[], help="SAMPLER:KEY=VALUE, repeatable")
    ap.add_argument("--label", default=None, help="name of this configuration in the table [the sampler]")
    ap.add_argument("--results", type=Path, default=None, help="[RUN/reweight_seeds.jsonl]")
    ap.add_argument("--table", action="store_true", help="only print the table of the results so far")
    args = ap.parse_args()

    run_dir, results = args.run, args.results or args.run / "reweight_seeds.jsonl"
    if args.table:
        print_table(results)
        return
    run = load_run(run_dir)
    data = load_dataset(run.config.dataset)
    real = data.model_input("train", "cpu")
    ref = reference(run.config.dataset)
    metrics = tuple(args.metrics.split(","))
    options = parse_options(args.option)
    done = set()
    if results.is_file():
        done = {(r["label"], r["seed"]) for r in map(json.loads, results.read_text().splitlines())}
    names = args.samplers.split(",")
    for seed in map(int, args.seeds.split(",")):
        w_dir = train_seed(run_dir, run, real, seed, args.steps, args.trainer) if any(takes(n, "w") for n in names) else None
        cal_dir = calibrate_seed(run_dir, run, real, seed) if any(takes(n, "disc") for n in names) else None
        for name in names:
            label = args.label or name
            if (label, seed) in done:
                continue
            sampler = make_sampler(name, run, run_dir, w_dir, calibrated_dir=cal_dir, **options.get(name, {}))
            batch = draw(sampler, run, args.n, seed)
            values = evaluate_samples(as_exported(batch.x), run.config.dataset, metrics, seed, ref=ref)
            cost = batch.cost.per_sample(args.n) | {"seconds": batch.cost.seconds}
            rec = record(run.config.dataset, str(run_dir.resolve()), name, seed, args.n, values, ref, label=label,
                         sampler_options=sampler.params(), cost=cost,
                         **({"w_dir": str(w_dir), "w_seconds": float((w_dir / "seconds.txt").read_text())}
                            if takes(name, "w") else {}),
                         **({"calibrated_dir": str(cal_dir),
                             "calibration_seconds": float((cal_dir / "seconds.txt").read_text())}
                            if takes(name, "disc") else {}))
            append_jsonl(results, rec)
            print(f"seed {seed} {label:<16}" + " ".join(f"{k}={v:.4f}" for k, v in values.items()
                                                        if isinstance(v, float)), flush=True)
    print_table(results)


def print_table(results: Path) -> None:
    recs = [json.loads(line) for line in results.read_text().splitlines()]
    labels = list(dict.fromkeys(r["label"] for r in recs))
    keys = [k for k in ("emd", "fid", "precision", "recall", "density", "coverage", "in_between", "kl_uniform")
            if k in recs[0]["metrics"]]
    print(f"\n{results}: mean ± 95 % CI (t, over seeds)")
    print("| sampler | seeds | " + " | ".join(keys) + " | proposals / sample | ms / sample |")
    print("|---" * (len(keys) + 4) + "|")
    for label in labels:
        rs = [r for r in recs if r["label"] == label]
        cells = []
        for k in keys + ["proposals", "ms"]:
            vals = [r["metrics"][k] if k in r["metrics"] else r["cost"][k] for r in rs]
            mean, _, half = mean_ci(vals)
            cells.append(f"{mean:.4g} ± {half:.2g}")
        print(f"| {label} | {len(rs)} | " + " | ".join(cells) + " |")
    for source, rows in summarise(recs).items():
        if paired := paired_table(rows):
            print(f"\n{source}: {PAIRED_NOTE}\n{paired}")


if __name__ == "__main__":
    main()
