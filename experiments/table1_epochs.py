"""How much latentRS gains as the Table 1 generator converges: train the protocol's G
(:func:`latentrw.table1.train_config`) in stages, keep a snapshot at each of ``--epochs``, and run
the table's bench (base and latentRS, w retrained per seed, :data:`latentrw.table1.W_OPTIONS`) on
every snapshot.

    python experiments/table1_epochs.py swissroll [--epochs 10,20,30,60,100] [--seeds 0,1,2] \\
        [--out runs/table1-epochs]

Prints per snapshot the base EMD, its ratio to the real-vs-real floor (mean of the seeds' draws),
latentRS's EMD, its ratio to base and the seeds below base. Resumes after an interruption.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import time
from pathlib import Path

import numpy as np
import torch

from latentrw import table1
from latentrw.bench import bench
from latentrw.train import train


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset", choices=table1.DATASETS)
    ap.add_argument("--epochs", default="10,20,30,60,100")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--out", type=Path, default=Path("runs/table1-epochs"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    out, run = args.out / args.dataset, args.out / args.dataset / "run"
    seeds = [int(s) for s in args.seeds.split(",")]
    lines = ["| epochs | base EMD | base / floor | latentRS EMD | latentRS / base | below base |",
             "|---|---|---|---|---|---|"]
    for epochs in (int(e) for e in args.epochs.split(",")):
        snapshot = out / f"epoch-{epochs}" / args.dataset  # named as the dataset: the bench names models by it
        if not snapshot.is_dir():
            train(table1.train_config(args.dataset, epochs), run, progress=False)
            partial = snapshot.with_name(f".{snapshot.name}.partial")  # renamed once whole
            shutil.rmtree(partial, ignore_errors=True)
            shutil.copytree(run, partial, ignore=shutil.ignore_patterns("samples", "train_state*"))
            partial.rename(snapshot)
        config = dataclasses.replace(table1.bench_config(str(snapshot), seeds), samplers=("base", "latent-rs"))
        results = out / f"epoch-{epochs}" / "results.jsonl"
        bench(config, results, progress=lambda line: None)
        emd: dict[str, dict[int, float]] = {}
        for rec in map(json.loads, results.read_text().splitlines()):
            emd.setdefault(rec["sampler"], {})[rec["seed"]] = rec["metrics"]["emd"]
        base, rs, floor = (np.array([emd[s][k] for k in seeds]) for s in ("base", "latent-rs", "real"))
        lines.append(f"| {epochs} | {base.mean():.3f} | {base.mean() / floor.mean():.2f} | {rs.mean():.3f} | "
                     f"{rs.mean() / base.mean():.2f} | {(rs < base).sum()}/{len(seeds)} |")
        print(lines[-1], flush=True)
    print("\n".join(lines))
    print(f"{time.perf_counter() - start:.0f} s wall")


if __name__ == "__main__":
    main()
