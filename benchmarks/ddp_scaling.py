"""Scaling of one MNIST mlp/ns training epoch and of w training with 1 vs K torchrun processes,
on the same machine and total thread count (1 process × K threads against K processes × 1 thread).

    python benchmarks/ddp_scaling.py                 # CPU, K = 2, gloo
    python benchmarks/ddp_scaling.py --device cuda --nproc 2 --threads 1

Prints wall seconds (process start and data loading included), images or w-steps per second,
and the speed-up; the runs go to a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLI = [sys.executable, "-m", "latentrw.cli"]
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone"]


def timed(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nproc", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch-size", type=int, default=512)
    ap.add_argument("--w-steps", type=int, default=200)
    args = ap.parse_args()
    k = args.nproc
    base = {**os.environ, "LATENTRW_BACKEND": "gloo" if args.device == "cpu" else "nccl"}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        train = ["train", "--dataset", "mnist", "--model", "mlp", "--objective", "ns", "--epochs", "1",
                 "--batch-size", str(args.batch_size), "--device", args.device, "--quiet"]
        one = timed(CLI + train + ["--out", str(tmp / "t1")], {**base, "OMP_NUM_THREADS": str(k)})
        many = timed(TORCHRUN + ["--nproc-per-node", str(k), "-m", "latentrw.cli"] + train + ["--out", str(tmp / "tk")],
                     {**base, "OMP_NUM_THREADS": "1"})
        images = 60_000 // args.batch_size * args.batch_size
        print(f"train 1 epoch (batch {args.batch_size}, {args.device}): 1 process x {k} threads {one:.1f} s "
              f"({images / one:,.0f} img/s); {k} processes x 1 thread {many:.1f} s ({images / many:,.0f} img/s); "
              f"speed-up {one / many:.2f}x")
        rw = ["reweight", str(tmp / "t1"), "--steps", str(args.w_steps), "--device", args.device, "--quiet",
              "--no-figures"]
        one = timed(CLI + rw + ["--out", str(tmp / "w1")], {**base, "OMP_NUM_THREADS": str(k)})
        many = timed(TORCHRUN + ["--nproc-per-node", str(k), "-m", "latentrw.cli"] + rw + ["--out", str(tmp / "wk")],
                     {**base, "OMP_NUM_THREADS": "1"})
        print(f"w training {args.w_steps} steps (batch 256, n_d 5): 1 process x {k} threads {one:.1f} s; "
              f"{k} processes x 1 thread {many:.1f} s; speed-up {one / many:.2f}x")


if __name__ == "__main__":
    main()
