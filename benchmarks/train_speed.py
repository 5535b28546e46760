"""Training speed on MNIST. Default: one epoch of the mlp/ns GAN, latentrw's trainer vs a plain
textbook loop. ``--cnn``: the cnn GAN's training step on a CPU under each speed setting
(channels-last memory, thread count, torch.compile, bfloat16 autocast), timed side by side in
one run: rounds of every setting in turn, so load changes hit all of them alike.

The plain loop is what a course notebook writes: a DataLoader over a
TensorDataset, BCE on sigmoid outputs, a fresh fake batch for the G step and
``.item()`` on every loss every step. Both use the same networks and optimisers.

    python benchmarks/train_speed.py                 # batch 100 and 512, CPU
    python benchmarks/train_speed.py --device cuda --compile
    python benchmarks/train_speed.py --cnn [--width 32] [--objective ns] [--steps 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time

import torch
from torch import nn

from latentrw.config import TrainConfig
from latentrw.data import load_dataset
from latentrw.models.mlp import MLPDiscriminator, MLPGenerator
from latentrw.train import Trainer


def plain_epoch(batch_size: int, device: str) -> float:
    """Seconds for one epoch of the textbook loop."""
    torch.manual_seed(0)
    data = load_dataset("mnist").model_input("train")
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data), batch_size=batch_size,
                                         shuffle=True, drop_last=True)
    G, D = MLPGenerator().to(device), MLPDiscriminator().to(device)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCELoss()
    start = time.perf_counter()
    for (real,) in loader:
        real = real.to(device)
        n = real.shape[0]
        ones, zeros = torch.ones(n, device=device), torch.zeros(n, device=device)
        # D step
        fake = G(torch.randn(n, 100, device=device))
        loss_d = bce(torch.sigmoid(D(real)), ones) + bce(torch.sigmoid(D(fake.detach())), zeros)
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        # G step on a fresh batch
        fake = G(torch.randn(n, 100, device=device))
        loss_g = bce(torch.sigmoid(D(fake)), ones)
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        _ = loss_d.item(), loss_g.item()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start


def ours_epoch(batch_size: int, device: str, compile_models: bool = False) -> float:
    """Seconds for one epoch of latentrw's trainer (the epoch as its log records it)."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig(dataset="mnist", model="mlp", objective="ns", epochs=1, batch_size=batch_size, device=device)
        trainer = Trainer(cfg, tmp, progress=False)
        if compile_models:
            trainer.G, trainer.D = torch.compile(trainer.G), torch.compile(trainer.D)
        start = time.perf_counter()
        trainer.fit()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        return time.perf_counter() - start


CNN_SETTINGS = ("fp32", "channels-last", "1 thread", "compile", "bf16 autocast")


def _cnn_trainer(tmp: str, setting: str, width: int, objective: str, batch_size: int) -> Trainer:
    cfg = TrainConfig(dataset="mnist", model="cnn", objective=objective, batch_size=batch_size, device="cpu",
                      g_options={"width": width}, d_options={"width": width}, seed=0)
    trainer = Trainer(cfg, tmp, progress=False)
    if setting == "channels-last":
        trainer.G.to(memory_format=torch.channels_last)
        trainer.D.to(memory_format=torch.channels_last)
    if setting == "compile":
        trainer.G, trainer.D = torch.compile(trainer.G), torch.compile(trainer.D)
    return trainer


def cnn_step_times(width: int, objective: str, batch_size: int, steps: int, rounds: int) -> dict[str, list[float]]:
    """Images per second of the cnn training step under each of :data:`CNN_SETTINGS`, one value per
    round; each round times ``steps`` steps of every setting after two warm-up steps."""
    x = load_dataset("mnist").model_input("train")
    batches = [x[i * batch_size:(i + 1) * batch_size] for i in range(steps + 2)]
    threads = torch.get_num_threads()
    rates: dict[str, list[float]] = {s: [] for s in CNN_SETTINGS}
    with tempfile.TemporaryDirectory() as tmp:
        trainers = {s: _cnn_trainer(tmp, s, width, objective, batch_size) for s in CNN_SETTINGS}
        for _ in range(rounds):
            for setting, trainer in trainers.items():
                torch.set_num_threads(1 if setting == "1 thread" else threads)
                autocast = (torch.autocast("cpu", dtype=torch.bfloat16) if setting == "bf16 autocast"
                            else contextlib.nullcontext())
                acc = torch.zeros(8)
                with autocast:
                    for i, real in enumerate(batches):
                        if setting == "channels-last":
                            real = real.contiguous(memory_format=torch.channels_last)
                        if i == 2:
                            start = time.perf_counter()
                        trainer._train_step(real, acc)
                        trainer.step += 1
                rates[setting].append(steps * batch_size / (time.perf_counter() - start))
        torch.set_num_threads(threads)
    return rates


def main_cnn(args: argparse.Namespace) -> None:
    print(f"torch {torch.__version__}, cnn width {args.width}, {args.objective}, batch {args.batch_size}, "
          f"{torch.get_num_threads()} threads; images/s per round, median; {args.steps} steps per round")
    rates = cnn_step_times(args.width, args.objective, args.batch_size, args.steps, args.rounds)
    base = statistics.median(rates["fp32"])
    for setting, values in rates.items():
        med = statistics.median(values)
        print(f"{setting:>14} {med:8.0f} img/s  {med / base:5.2f}x   rounds: {', '.join(f'{v:.0f}' for v in values)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[100, 512])
    parser.add_argument("--compile", action="store_true", help="also time ours with torch.compile")
    parser.add_argument("--cnn", action="store_true", help="the cnn step under each CPU speed setting")
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--objective", default="ns")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.cnn:
        return main_cnn(args)
    print(f"torch {torch.__version__}, device {args.device}, threads {torch.get_num_threads()}")
    print(f"{'batch':>6} {'loop':>14} {'s/epoch':>8} {'images/s':>9} {'speed-up':>8}")
    for bs in args.batch_sizes:
        n = 60000 // bs * bs
        plain = plain_epoch(bs, args.device)
        rows = [("plain", plain), ("latentrw", ours_epoch(bs, args.device))]
        if args.compile:
            rows.append(("latentrw+compile", ours_epoch(bs, args.device, compile_models=True)))
        for name, sec in rows:
            print(f"{bs:>6} {name:>14} {sec:>8.2f} {n / sec:>9.0f} {plain / sec:>7.2f}x", flush=True)


if __name__ == "__main__":
    main()
