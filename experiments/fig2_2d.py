"""The paper's Fig. 2: four disconnected clusters, a proposal whose support meets them only partly,
the samples DRS keeps, the samples latentRS keeps, and w over the latent plane.

The proposal is a WGAN-GP toy generator with a 2-d Gaussian latent, trained briefly on
``4clusters`` (four Gaussians at (±2, ±2), σ 0.1): a continuous map of a connected latent space,
it covers the clusters partly and spreads mass between them. DRS (Azadi et al.) accepts by its
calibrated discriminator's density ratio; latentRS by w, trained with the default (bank) trainer.
Each panel's EMD to 2,000 test points is printed and written on it, with the acceptance rate.

    python experiments/fig2_2d.py [--epochs 20] [--root runs/fig2] [--out docs/images/fig2.png]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from latentrw.config import TrainConfig
from latentrw.data import load_dataset
from latentrw.figures import pyplot, save_figure
from latentrw.metrics.emd import emd
from latentrw.reweight import ReweightConfig, critic_gp_weight, load_w
from latentrw.run import load_run
from latentrw.sample import draw, make_sampler
from latentrw.samplers.calibrate import CalibrationConfig, calibrate
from latentrw.train import train
from latentrw.w_trainer import WTrainer

N = 2000


def models(root: Path, epochs: int) -> Path:
    """Train (or reuse) the proposal G, its w and its calibrated D under ``root``."""
    config = TrainConfig(dataset="4clusters", model="toy", objective="wgan-gp", epochs=epochs, batch_size=256,
                         gp_weight=0.1, g_options={"hidden": [128] * 3}, d_options={"hidden": [128] * 3},
                         device="cpu", seed=0)
    run_dir = train(config, root, progress=False)
    run = load_run(run_dir)
    real = load_dataset("4clusters").model_input("train")
    if not (run_dir / "reweight" / "w.safetensors").is_file():
        cfg = ReweightConfig(seed=0, gp_weight=critic_gp_weight(run))
        WTrainer(run.G, run.D, run.prior, real, cfg, run_dir / "reweight").fit()
    if not (run_dir / "calibrated" / "D.safetensors").is_file():
        calibrate(run, real, CalibrationConfig(seed=0), run_dir / "calibrated")
    return run_dir


def figure(run_dir: Path, out: Path) -> None:
    run = load_run(run_dir)
    test = load_dataset("4clusters").model_input("test")[:N]
    panels = {}
    for name, title in (("base", "real (grey) and proposal G(z)"), ("drs", "DRS keeps"), ("latent-rs", "latentRS keeps")):
        batch = draw(make_sampler(name, run, run_dir), run, N, seed=0)
        acceptance = N / batch.cost.proposals if name != "base" else None
        panels[name] = (title, batch.x, float(emd(batch.x, test)), acceptance)
        print(f"{name:>10}: EMD {panels[name][2]:.3f} to {N} test points" +
              (f", acceptance {acceptance:.2f}" if acceptance is not None else ""))
    plt = pyplot()
    fig, axes = plt.subplots(1, 4, figsize=(13.2, 3.4))
    for ax, (name, (title, x, distance, acceptance)) in zip(axes, panels.items()):
        ax.scatter(*test.numpy().T, s=2, c="0.75")
        ax.scatter(*x.numpy().T, s=2, c={"base": "tab:blue", "drs": "tab:red", "latent-rs": "tab:green"}[name])
        note = f"EMD {distance:.3f}" + (f", accepts {acceptance:.0%}" if acceptance is not None else "")
        ax.set(title=title, xlim=(-3.2, 3.2), ylim=(-3.2, 3.2), aspect="equal")
        ax.text(0.02, 0.02, note, transform=ax.transAxes, fontsize=8)
    grid = torch.linspace(-3, 3, 200)
    zz = torch.stack(torch.meshgrid(grid, grid, indexing="xy"), -1).reshape(-1, 2)
    with torch.no_grad():
        values = load_w(run_dir / "reweight")(zz).reshape(200, 200).numpy()
    image = axes[3].imshow(values, origin="lower", extent=(-3, 3, -3, 3), cmap="viridis")
    axes[3].set(title="w(z) on the latent plane", xlabel="z1", ylabel="z2")
    fig.colorbar(image, ax=axes[3], fraction=0.046)
    save_figure(fig, out)
    print(f"wrote {out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--root", type=Path, default=Path("runs/fig2"))
    ap.add_argument("--out", type=Path, default=Path("docs/images/fig2.png"))
    args = ap.parse_args()
    start = time.perf_counter()
    figure(models(args.root / f"epochs{args.epochs}", args.epochs), args.out)  # w and D belong to that G
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
