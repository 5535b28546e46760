"""The paper's Table 1 setting: WGAN-GP toy GANs on 25 Gaussians and the Swiss roll, then
latent reweighting over seeds (each seed retrains w and its critic on the same G), scored by
EMD (and P/R) against the test points. The two datasets run in parallel, one CPU thread each.

The toy GAN follows Gulrajani et al.'s gan_toy.py (2-d latent, 3 hidden layers of 512 ReLU,
batch 256, Adam 1e-4 (0.5, 0.9), 5 critic steps): there the penalty weight for toy data is
0.1 -- with our default 10 the critic cannot shape the 2-D generator and it stays a blob.

    python experiments/table1_2d.py [--epochs 150] [--root runs/t1] [--seeds 0,1,2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from latentrw.bench import BenchConfig, bench
from latentrw.config import TrainConfig
from latentrw.train import train

SAMPLERS = ("base", "latent-rs", "latent-rs-ga", "latent-sir", "latent-ga", "drs", "sir", "mh-gan", "dot")


def toy_config(dataset: str, epochs: int) -> TrainConfig:
    return TrainConfig(dataset=dataset, model="toy", objective="wgan-gp", epochs=epochs, batch_size=256,
                       gp_weight=0.1, g_options={"hidden": [512] * 3}, d_options={"hidden": [512] * 3},
                       device="cpu", seed=0)


def one(dataset: str, epochs: int, root: Path, seeds: str) -> None:
    run = train(toy_config(dataset, epochs), root / dataset, progress=False)
    # Each seed retrains w (Algorithm 1) and the calibrated D on this G; rerunning resumes.
    config = BenchConfig("synthetic", samplers=SAMPLERS, seeds=tuple(int(s) for s in seeds.split(",")),
                         checkpoints=(str(run),), metrics=("emd", "prdc"), retrain_per_seed=True,
                         w_options={"trainer": "algorithm1"})
    bench(config, root / dataset / "rivals" / "results.jsonl", progress=print)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=150)
    ap.add_argument("--root", type=Path, default=Path("runs/t1"))
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--dataset", default=None, help="run one dataset in this process")
    args = ap.parse_args()
    if args.dataset:
        one(args.dataset, args.epochs, args.root, args.seeds)
        return
    args.root.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = []
    for ds in ("25gaussians", "swissroll"):
        log = open(args.root / f"{ds}.log", "w")
        procs.append(subprocess.Popen([sys.executable, __file__, "--dataset", ds, "--epochs", str(args.epochs),
                                       "--root", str(args.root), "--seeds", args.seeds], stdout=log, stderr=log,
                                      env=env))
    codes = [p.wait() for p in procs]
    if any(codes):
        raise SystemExit(f"failed: see {args.root}/*.log")


if __name__ == "__main__":
    main()
