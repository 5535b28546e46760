"""Where the samplers of the Table 1 run put their points on 25 Gaussians, and what each seed's
calibration kept: the measurement behind docs/results.md's explanation of DRS, SIR and MH-GAN.

For each sampler (seed 0's w and calibrated D), 5,000 samples: the share within 3σ of a mode, the
share farther than 0.3 from every mode, the balance over modes of the near-mode points (KL to
uniform), and the samples' mean (the data's is 0). Then every seed's kept calibration step and
Platt slope, on both datasets.

    python experiments/table1_where.py runs/table1 runs/toys/25gaussians
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from latentrw import table1
from latentrw.data.synthetic import DOT_SCALE, MODES
from latentrw.metrics.classes import kl_to_uniform
from latentrw.run import load_run
from latentrw.sample import draw, make_sampler

STD = 0.05 / DOT_SCALE["25gaussians"]  # of each mode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("table", type=Path, help="the --out of experiments/table1_2d.py")
    ap.add_argument("run", type=Path, help="the 25gaussians generator it ran on")
    args = ap.parse_args()
    run = load_run(args.run)
    models = args.table / "25gaussians" / "models" / args.run.name
    centres = torch.tensor(MODES["25gaussians"], dtype=torch.float32)
    for name in ("base", "latent-rs", "drs", "sir", "mh-gan"):
        sampler = make_sampler(name, run, args.run, w_dir=models / "reweight-s0", calibrated_dir=models / "calibrated-s0")
        x = draw(sampler, run, 5000, seed=0).x
        dist, k = torch.cdist(x, centres).min(1)
        near = dist < 3 * STD
        share = torch.bincount(k[near], minlength=25).float() / max(int(near.sum()), 1)
        kl = kl_to_uniform(share)
        print(f"{name:>10}: within 3σ of a mode {near.float().mean():.3f}, beyond 0.3 of every mode "
              f"{(dist > 0.3).float().mean():.3f}; near-mode KL to uniform {kl:.3f}; mean ({x[:, 0].mean():.2f}, "
              f"{x[:, 1].mean():.2f})")
    for d in table1.DATASETS:
        infos = [json.loads(p.read_text()) for p in sorted((args.table / d / "models").glob("*/calibrated-s*/calibration.json"))]
        print(f"{d}: kept steps {[i['chosen_step'] for i in infos]}, Platt slopes {[round(i['platt'][0], 2) for i in infos]}")


if __name__ == "__main__":
    main()
