"""What glibc's default malloc costs PyTorch on a CPU, and what :func:`latentrw.memory.keep_freed_memory`
(applied by every `latentrw` command) saves: the w trainer's critic step on the cnn (batch 256, with
its gradient penalty), timed in child processes with malloc as it is and with freed memory kept,
in turn, so that load changes hit both alike. Per step: wall, user and system seconds and the
minor page faults (pages the kernel had to hand the process afresh).

    python benchmarks/malloc_speed.py [--width 64] [--steps 5] [--rounds 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

from latentrw.progress import machine


def child(width: int, steps: int, threads: int, keep: bool) -> dict:
    import torch

    from latentrw.memory import keep_freed_memory
    from latentrw.models.cnn import CNNDiscriminator
    from latentrw.objectives import gradient_penalty

    applied = keep_freed_memory() if keep else False
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    critic = CNNDiscriminator(width=width)
    opt = torch.optim.Adam(critic.parameters(), lr=3e-5, betas=(0.5, 0.9))
    real, fake = torch.rand(256, 1, 28, 28) * 2 - 1, torch.rand(256, 1, 28, 28) * 2 - 1

    def step() -> None:  # the shape of WTrainer._critic_step
        loss = -(critic(real).mean() - critic(fake).mean()) + 10 * gradient_penalty(critic, real, fake)[0]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()  # warm-up
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    for _ in range(steps):
        step()
    r1, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - t0
    return {"applied": applied, "wall": wall / steps, "user": (r1.ru_utime - r0.ru_utime) / steps,
            "sys": (r1.ru_stime - r0.ru_stime) / steps, "faults": (r1.ru_minflt - r0.ru_minflt) / steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--child", choices=("default", "keep"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.width, args.steps, args.threads, args.child == "keep")))
        return
    print(f"{machine()}; cnn width {args.width}, "
          f"critic step of batch 256 with gradient penalty, {args.threads} thread(s), {args.steps} steps per round")
    # each child starts with malloc untouched, and only the "keep" child calls keep_freed_memory
    env = {k: v for k, v in os.environ.items() if k != "LATENTRW_KEEP_MEMORY"}
    results: dict[str, list[dict]] = {"default": [], "keep": []}
    for _ in range(args.rounds):
        for mode in results:
            cmd = [sys.executable, __file__, "--child", mode, "--width", str(args.width), "--steps", str(args.steps),
                   "--threads", str(args.threads)]
            results[mode].append(json.loads(subprocess.run(cmd, env=env, check=True, capture_output=True,
                                                           text=True).stdout.splitlines()[-1]))
    for mode, rows in results.items():
        med = {k: statistics.median(r[k] for r in rows) for k in ("wall", "user", "sys", "faults")}
        print(f"{'malloc as it is' if mode == 'default' else 'freed memory kept':>18}: wall {med['wall']:.2f} s, "
              f"user {med['user']:.2f} s, system {med['sys']:.2f} s, {med['faults']:,.0f} page faults per step "
              f"(median of {len(rows)} rounds)")


if __name__ == "__main__":
    main()
