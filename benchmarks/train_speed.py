"""Time one MNIST epoch of the mlp/ns GAN: latentrw's trainer vs a plain textbook loop.

The plain loop is what a course notebook writes: a DataLoader over a
TensorDataset, BCE on sigmoid outputs, a fresh fake batch for the G step and
``.item()`` on every loss every step. Both use the same networks and optimisers.

    python benchmarks/train_speed.py                 # batch 100 and 512, CPU
    python benchmarks/train_speed.py --device cuda --compile
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[100, 512])
    parser.add_argument("--compile", action="store_true", help="also time ours with torch.compile")
    args = parser.parse_args()
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
