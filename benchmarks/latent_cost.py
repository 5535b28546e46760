"""What an accepted image costs with each latent sampler, against the base generator and
against latentRS's floor.

With acceptance rate 1/P (P proposals per accepted image), latentRS runs w on P latents and
G on one, so its time per image relative to base is at least

    floor = 1 + P · cost(w) / cost(G)

(cost per latent, measured here by timing w and G alone on blocks of ``--batch`` latents).
The script times every sampler drawing ``--n`` images (median of ``--repeats``) and prints the
ratio to base beside the floor.

    python benchmarks/latent_cost.py runs/table/mnist-mlp-ns            # CPU
    python benchmarks/latent_cost.py RUN --device cuda --n 100000 --batch 10000
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from latentrw.run import load_run
from latentrw.sample import draw, make_sampler
from latentrw.train import resolve_device


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


@torch.no_grad()
def per_latent_seconds(net: torch.nn.Module, z: torch.Tensor, batch: int, repeats: int) -> float:
    times = []
    for _ in range(repeats + 1):  # the first pass warms up
        _sync(z.device)
        start = time.perf_counter()
        for i in range(0, len(z), batch):
            net(z[i:i + batch])
        _sync(z.device)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:]) / len(z)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path)
    ap.add_argument("--w-dir", type=Path, default=None)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--samplers", default="base,latent-rs,latent-rs-ga,latent-sir,latent-ga")
    args = ap.parse_args()

    device = resolve_device(args.device)
    run = load_run(args.run, device)
    w_dir = args.w_dir or args.run / "reweight"
    z = run.prior.sample(args.n, torch.Generator(device).manual_seed(0))
    samplers = {name: make_sampler(name, run, args.run, w_dir, args.batch) for name in args.samplers.split(",")}
    t_g = per_latent_seconds(run.G, z, args.batch, args.repeats)
    t_w = per_latent_seconds(samplers["latent-rs"].w, z, args.batch, args.repeats)
    print(f"device {device} ({torch.get_num_threads()} threads), batch {args.batch}, n {args.n}: "
          f"G {1e3 * t_g:.4f} ms/latent, w {1e3 * t_w:.4f} ms/latent, cost(w)/cost(G) = {t_w / t_g:.3f}")

    rows = {}
    for name, sampler in samplers.items():
        times, proposals = [], 0.0
        for r in range(args.repeats + 1):
            batch = draw(sampler, run, args.n, seed=r)
            _sync(device)
            if r:  # the first draw warms up
                times.append(batch.cost.seconds)
                proposals = batch.cost.proposals / args.n
        rows[name] = (statistics.median(times) / args.n, proposals, batch.cost.per_sample(args.n))
    base = rows["base"][0]
    print("| sampler | ms / image | × base | floor × base | proposals / image | w fwd+bwd / image |")
    print("|---|---|---|---|---|---|")
    for name, (sec, proposals, per) in rows.items():
        floor = 1 + proposals * t_w / t_g if name == "latent-rs" else None
        print(f"| {name} | {1e3 * sec:.4f} | {sec / base:.3f} | {'' if floor is None else f'{floor:.3f}'} "
              f"| {proposals:.3f} | {per['w_forward'] + per['w_backward']:.1f} |")


if __name__ == "__main__":
    main()
