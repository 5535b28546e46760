"""What w costs beside the GAN it reweights, measured side by side in one run on this machine.

For a shipped (or local) run: train the same GAN config from scratch for ``--epochs`` epochs
(the shipped mlp generators had 15), then train w on the shipped generator with the default
``ReweightConfig`` (and any ``--trainer``), each with the same thread count. Prints wall seconds,
steps, images seen (real + generated through D or G) and the ratio w / GAN, with the CPU model.

    python benchmarks/w_cost.py mnist-mlp-ns                # 15 GAN epochs, then the default w
    python benchmarks/w_cost.py mnist-mlp-wgan-gp --trainer algorithm1
    python benchmarks/w_cost.py mnist-mlp-ns --w-opt w_batch=512    # another w recipe
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import torch

from latentrw.data import load_dataset
from latentrw.reweight import ReweightConfig, critic_gp_weight
from latentrw.run import load_run
from latentrw.shipped import shipped
from latentrw.specs import parse_key_values
from latentrw.train import Trainer
from latentrw.w_trainer import WTrainer, critic_agreement


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        return platform.processor() or "unknown CPU"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", help="shipped name or run directory")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--trainer", default=ReweightConfig.trainer)
    ap.add_argument("--w-opt", action="append", default=[], metavar="KEY=VALUE",
                    help="a ReweightConfig field for w (repeatable), as `latentrw bench --w-opt`")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--out", type=Path, default=None, help="JSON file for the figures")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    run_dir = Path(args.run) if Path(args.run).is_dir() else shipped(args.run)
    run = load_run(run_dir)

    with tempfile.TemporaryDirectory() as tmp:
        # the run's own training, timed without its evaluations (so without selecting by them)
        cfg = dataclasses.replace(run.config, epochs=args.epochs, eval_every=0, select="last")
        trainer = Trainer(cfg, tmp, progress=False)
        gan_steps = trainer.steps_per_epoch * args.epochs
        start = time.perf_counter()
        trainer.fit()
        gan_s = time.perf_counter() - start
    gan_images = gan_steps * cfg.batch_size * 2  # a critic step sees a real and a fake batch

    w_cfg = ReweightConfig(trainer=args.trainer, gp_weight=critic_gp_weight(run.config),
                           **parse_key_values(args.w_opt, "--w-opt"))
    real = load_dataset(run.config.dataset).model_input("train")
    start = time.perf_counter()
    w, critic = WTrainer(run.G, run.D, run.prior, real, w_cfg).fit()
    w_s = time.perf_counter() - start
    if w_cfg.trainer == "bank":
        critic_steps = w_cfg.rounds * w_cfg.critic_steps
        # critic steps see a real and a fake batch; each round's bank goes through G once and D once
        w_images = critic_steps * w_cfg.batch_size * 2 + 2 * w_cfg.rounds * w_cfg.bank
        steps = f"{w_cfg.rounds} rounds × ({w_cfg.critic_steps} critic + {w_cfg.w_steps} w) steps"
    else:
        critic_steps = w_cfg.steps * w_cfg.n_d
        w_images = critic_steps * w_cfg.batch_size * 2 + w_cfg.steps * w_cfg.batch_size
        steps = f"{w_cfg.steps} w-steps × {w_cfg.n_d} critic steps"
    rho = critic_agreement(run.G, run.prior, w, critic)
    figures = {"run": args.run, "cpu": cpu_model(), "threads": args.threads, "gan_epochs": args.epochs,
               "gan_seconds": gan_s, "gan_critic_steps": gan_steps, "gan_images": gan_images,
               "w_trainer": w_cfg.trainer, "w_options": args.w_opt,
               "w_budget": steps, "w_seconds": w_s, "w_critic_steps": critic_steps,
               "w_images": w_images, "ratio": w_s / gan_s, "spearman_w_critic": rho}
    print(json.dumps(figures, indent=1))
    print(f"{args.run} on {figures['cpu']} ({args.threads} threads): GAN {args.epochs} epochs {gan_s:.0f} s; "
          f"w ({steps}) {w_s:.0f} s = {w_s / gan_s:.2f}× the GAN; Spearman(w, critic) {rho:.3f}")
    if args.out:
        args.out.write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
