"""What an accepted image costs with each sampler, against the base generator and against
latentRS's floor, at one or more compute batch sizes.

With acceptance rate 1/P (P proposals per accepted image), latentRS runs w on P latents and
G on one, so its time per image relative to base is at least

    floor = 1 + P · cost(w) / cost(G)

(cost per latent, measured here by timing w and G alone on blocks of ``--batch`` latents).
The script times every sampler drawing ``--n`` images (median of ``--repeats`` after a warm-up
draw) and prints images/s, ms per accepted image and the ratio to base beside the floor. RUN is
a run directory or the name of a shipped checkpoint (whose w and calibrated D sit at the
default places).

    python benchmarks/sampler_speed.py mnist-mlp-ns                      # CPU, every sampler
    python benchmarks/sampler_speed.py mnist-mlp-ns --device cuda --n 100000 --batch 1000,10000,100000
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from latentrw.bench import ORDER
from latentrw.device import resolve_device
from latentrw.run import load_run
from latentrw.sample import draw, make_sampler
from latentrw.shipped import shipped
from latentrw.specs import parse_options


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
    ap.add_argument("run", help="run directory or shipped checkpoint name")
    ap.add_argument("--w-dir", type=Path, default=None)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--batch", default="1000", help="compute batch size(s), comma-separated")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--samplers", default=",".join(ORDER), help="comma-separated; base and latent-rs always run")
    ap.add_argument("--opt", action="append", default=[], help="SAMPLER:KEY=VALUE, e.g. ddls:steps=100 (repeatable)")
    args = ap.parse_args()

    device = resolve_device(args.device)
    run_dir = Path(args.run) if Path(args.run).is_dir() else shipped(args.run)
    run = load_run(run_dir, device)
    names = list(dict.fromkeys(["base", "latent-rs"] + args.samplers.split(",")))
    options = parse_options(args.opt)
    for batch_size in map(int, args.batch.split(",")):
        table(run, run_dir, args.w_dir, device, names, options, args.n, batch_size, args.repeats)


def table(run, run_dir: Path, w_dir: Path | None, device, names: list[str], options: dict, n: int, batch_size: int,
          repeats: int) -> None:
    z = run.prior.sample(n, torch.Generator(device).manual_seed(0))
    samplers = {name: make_sampler(name, run, run_dir, w_dir, batch_size, **options.get(name, {})) for name in names}
    t_g = per_latent_seconds(run.G, z, batch_size, repeats)
    t_w = per_latent_seconds(samplers["latent-rs"].w, z, batch_size, repeats)
    print(f"\ndevice {device} ({torch.get_num_threads()} threads), batch {batch_size}, n {n}: "
          f"G {1e3 * t_g:.4f} ms/latent, w {1e3 * t_w:.4f} ms/latent, cost(w)/cost(G) = {t_w / t_g:.3f}")

    rows = {}
    for name, sampler in samplers.items():
        times, proposals = [], 0.0
        for r in range(repeats + 1):
            batch = draw(sampler, run, n, seed=r)
            _sync(device)
            if r:  # the first draw warms up
                times.append(batch.cost.seconds)
                proposals = batch.cost.proposals / n
        rows[name] = (statistics.median(times) / n, proposals, batch.cost.per_sample(n))
    base = rows["base"][0]
    print("| sampler | images / s | ms / image | × base | floor × base | proposals / image | G / D / w evaluations per image |")
    print("|---|---|---|---|---|---|---|")
    for name, (sec, proposals, per) in rows.items():
        floor = 1 + proposals * t_w / t_g if name == "latent-rs" else None
        evals = " / ".join(f"{per[f'{net}_forward'] + per[f'{net}_backward']:.3g}" for net in ("g", "d", "w"))
        print(f"| {name} | {1 / sec:,.0f} | {1e3 * sec:.4f} | {sec / base:.3f} | {'' if floor is None else f'{floor:.3f}'} "
              f"| {proposals:.3f} | {evals} |")


if __name__ == "__main__":
    main()
