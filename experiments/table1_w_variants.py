"""w variants on the Table 1 generators, measured with less sampling noise than the table: per seed,
train w with the default config changed by ``OPTIONS`` (JSON, fields of ``ReweightConfig``), then
the mean exact EMD of 5 disjoint sets of 1,000 samples, each against its own 1,000 test points,
for base, latentRS and latentRS+GA (paired: the same seed's proposal stream).

    python experiments/table1_w_variants.py swissroll --seeds 0,1 --options '{"step_size": 0.05}' \\
        --out runs/w2d/swissroll-eta05

Prints one JSON line per seed (w's seconds, its Spearman with its final critic, the three EMDs).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from latentrw import table1
from latentrw.data import load_dataset
from latentrw.metrics.emd import emd
from latentrw.retrain import reweight_config
from latentrw.run import load_run
from latentrw.sample import draw
from latentrw.samplers.base import BaseSampler
from latentrw.samplers.latent import LatentRS, LatentRSGA
from latentrw.shipped import shipped
from latentrw.w_trainer import WTrainer, critic_agreement

SETS, N = 5, table1.N


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset", choices=("swissroll", "25gaussians"))
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--options", default="{}", help="JSON: ReweightConfig fields to change")
    ap.add_argument("--out", type=Path, required=True, help="w of each seed goes to OUT/reweight-sSEED (resumable)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    run, data = load_run(shipped(args.dataset)), load_dataset(args.dataset)
    real, test = data.model_input("train", "cpu"), np.asarray(data.x_test, np.float64)

    def emd_sets(x: np.ndarray, seed: int) -> float:
        rng = np.random.default_rng(1000 + seed)
        return float(np.mean([emd(x[i * N:(i + 1) * N], test[rng.choice(len(test), N, replace=False)])
                              for i in range(SETS)]))

    for seed in (int(s) for s in args.seeds.split(",")):
        config = reweight_config(run, seed, json.loads(args.options))  # the bench's default, changed
        start = time.perf_counter()
        w, critic = WTrainer(run.G, run.D, run.prior, real, config, out_dir=args.out / f"reweight-s{seed}").fit()
        row = {"seed": seed, "w_seconds": round(time.perf_counter() - start, 1),
               "spearman": round(critic_agreement(run.G, run.prior, w, critic), 3)}
        for name, sampler in (("base", BaseSampler()), ("latent-rs", LatentRS(w)), ("latent-rs-ga", LatentRSGA(w))):
            row[name] = round(emd_sets(draw(sampler.fit(run), run, SETS * N, seed).x.numpy(), seed), 4)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
