"""The paper's Table 1 beside latentrw's, under the protocol of :mod:`latentrw.table1`: every sampler
on the shipped Swiss-roll and 25-Gaussians generators, w and the calibrated D retrained per seed,
the two datasets in parallel (one CPU thread each); prints the table and its wall time.

    python experiments/table1_2d.py [--seeds 0,...,9] [--out runs/table1]
    python experiments/table1_2d.py --train runs/toys   # train the two generators (the stopping rule)
    python experiments/table1_2d.py --figure docs/images/table1_samples.png [--out runs/table1]

``--figure PNG`` draws base and latentRS (seed 0's w of the table in ``--out``) over the test points.

``--checkpoints DIR`` takes trained runs ``DIR/swissroll`` and ``DIR/25gaussians`` instead of the
shipped ones. Everything resumes: run it again after an interruption.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from latentrw import table1
from latentrw.bench import bench
from latentrw.data import load_dataset
from latentrw.reweight import load_w
from latentrw.run import load_run
from latentrw.sample import draw
from latentrw.samplers.base import BaseSampler
from latentrw.samplers.latent import LatentRS
from latentrw.shipped import shipped


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default=",".join(map(str, table1.SEEDS)))
    ap.add_argument("--out", type=Path, default=Path("runs/table1"))
    ap.add_argument("--checkpoints", type=Path, default=None, help="DIR with runs swissroll/ and 25gaussians/")
    ap.add_argument("--train", type=Path, default=None, help="train the generators into this folder")
    ap.add_argument("--figure", type=Path, default=None, help="draw base and latentRS of seed 0 into this PNG")
    ap.add_argument("--dataset", default=None, help=argparse.SUPPRESS)  # one dataset in this process
    args = ap.parse_args()
    if args.figure:
        return figure(args.out, args.checkpoints, args.figure)
    if args.dataset:
        if args.train:
            state = table1.train_until(args.dataset, args.train / args.dataset)
            for check in state["checks"]:
                print(json.dumps(check), flush=True)
            print(f"stopped at epoch {state['stopped_at']}", flush=True)
        else:
            ckpt = str(args.checkpoints / args.dataset) if args.checkpoints else args.dataset
            seeds = [int(s) for s in args.seeds.split(",")]
            bench(table1.bench_config(ckpt, seeds), args.out / args.dataset / "results.jsonl", progress=print)
        return
    start = time.perf_counter()
    folder = args.train or args.out
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = []
    for d in table1.DATASETS:
        log = open(folder / f"{d}.log", "a")
        procs.append(subprocess.Popen([sys.executable, __file__, "--dataset", d, *sys.argv[1:]], stdout=log,
                                      stderr=subprocess.STDOUT, env=env))
    if any(p.wait() for p in procs):
        raise SystemExit(f"failed: see {folder}/*.log")
    if not args.train:
        records = [json.loads(line) for d in table1.DATASETS
                   for line in (args.out / d / "results.jsonl").read_text().splitlines() if line.strip()]
        text = table1.tables(records)
        (args.out / "table.md").write_text(text + "\n")
        print(text)
    print(f"{time.perf_counter() - start:.0f} s wall")


def figure(out: Path, checkpoints: Path | None, png: Path, n: int = 2000) -> None:
    """Per dataset, base and latentRS (seed 0's w of the table) over the test points."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(8, 8), dpi=90)
    for row, d in zip(axes, table1.DATASETS):
        run = load_run(checkpoints / d if checkpoints else shipped(d))
        test = load_dataset(d).x_test[:n]
        w = load_w(out / d / "models" / d / "reweight-s0")
        for ax, (name, sampler) in zip(row, (("base", BaseSampler()), ("latentRS", LatentRS(w)))):
            x = draw(sampler.fit(run), run, n, seed=0).x
            ax.scatter(*test.T, s=1, c="0.7")
            ax.scatter(*x.T, s=1, c="tab:blue")
            ax.set(title=f"{d}: {name}", aspect="equal", xticks=[], yticks=[])
    fig.tight_layout()
    fig.savefig(png)
    print(f"wrote {png}")


if __name__ == "__main__":
    main()
