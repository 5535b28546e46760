"""The paper's Table 1 beside latentrw's, under the protocol of :mod:`latentrw.table1`: every sampler
on the shipped Swiss-roll and 25-Gaussians generators, w and the calibrated D retrained per seed,
the two datasets in parallel (one CPU thread each); prints the table and its wall time.

    python experiments/table1_2d.py [--seeds 0,...,9] [--out runs/table1]
    python experiments/table1_2d.py --train runs/toys [--epochs 150]   # train the two generators

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
from latentrw.train import train


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default=",".join(map(str, table1.SEEDS)))
    ap.add_argument("--out", type=Path, default=Path("runs/table1"))
    ap.add_argument("--checkpoints", type=Path, default=None, help="DIR with runs swissroll/ and 25gaussians/")
    ap.add_argument("--train", type=Path, default=None, help="train the generators into this folder")
    ap.add_argument("--epochs", type=int, default=table1.EPOCHS)
    ap.add_argument("--dataset", default=None, help=argparse.SUPPRESS)  # one dataset in this process
    args = ap.parse_args()
    if args.dataset:
        if args.train:
            train(table1.train_config(args.dataset, args.epochs), args.train / args.dataset, progress=False)
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


if __name__ == "__main__":
    main()
