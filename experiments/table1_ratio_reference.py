"""How much can rejection on the latent space gain on the Table 1 generators at all? A reference that
needs no critic: rejection by the density ratio p_data(x) / p_G(x) itself, both densities estimated by
Gaussian KDE (scipy, Scott's bandwidth × ``--bandwidth``) on 20,000 training points and 20,000 G
samples, normalised to mean 1 and clipped at m = 3 as w is. Latent i is kept with probability
ratio(G(z_i)) / 3 from the same proposal stream the bench's base draw takes, so every record is
paired with that seed's base, under the protocol of :mod:`latentrw.table1` (1,000 samples, the
mean exact EMD against the bench's own 5 subsets of 1,000 test points).

    python experiments/table1_ratio_reference.py [--seeds 0,...,9] [--bandwidth 1.0] [--squared]
        [--datasets swissroll,25gaussians] [--checkpoints DIR]

``--checkpoints DIR`` takes trained runs ``DIR/swissroll`` and ``DIR/25gaussians`` instead of the
shipped generators.

Prints one line per dataset and seed, then per dataset the mean ratio to base and the seeds below
base -- the figures to set beside latentRS's row of the table.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from scipy.stats import gaussian_kde

from latentrw import table1
from latentrw.data import load_dataset
from latentrw.metrics.evaluate import protocol_emd
from latentrw.reweight import ReweightConfig
from latentrw.run import load_run
from latentrw.sample import draw_latents
from latentrw.shipped import shipped

M = ReweightConfig.m  # w's cap, so the reference is clipped as w is


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default=",".join(map(str, table1.SEEDS)))
    ap.add_argument("--bandwidth", type=float, default=1.0, help="factor on Scott's bandwidth")
    ap.add_argument("--squared", action="store_true", help="the EMD with squared Euclidean cost (emd_sq)")
    ap.add_argument("--datasets", default=",".join(table1.DATASETS))
    ap.add_argument("--checkpoints", default=None, help="DIR with runs swissroll/ and 25gaussians/")
    args = ap.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    for dataset in args.datasets.split(","):
        run = load_run(f"{args.checkpoints}/{dataset}" if args.checkpoints else shipped(dataset))
        data = load_dataset(dataset)
        test, train = np.asarray(data.x_test, np.float64), data.model_input("train", "cpu").numpy()
        with torch.no_grad():
            fake = run.G(run.prior.sample(20_000, torch.Generator().manual_seed(12_345))).numpy()
        p_data, p_g = gaussian_kde(train[:20_000].T), gaussian_kde(fake.T)
        for kde in (p_data, p_g):
            kde.set_bandwidth(kde.factor * args.bandwidth)

        rows = []
        for seed in (int(s) for s in args.seeds.split(",")):
            with torch.no_grad():
                x = run.G(draw_latents(run.prior, 10 * table1.N, seed)).numpy()
            ratio = p_data(x.T) / np.maximum(p_g(x.T), 1e-300)
            w = np.minimum(ratio / ratio.mean(), M)
            kept = x[np.random.default_rng(seed).random(len(w)) < w / M][: table1.N]
            rows.append({"dataset": dataset, "seed": seed, "base": protocol_emd(x[: table1.N], test, seed, args.squared)[0],
                         "reference": protocol_emd(kept, test, seed, args.squared)[0], "acceptance": float((w / M).mean())})
            print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in rows[-1].items()}), flush=True)
        base, ref = np.array([r["base"] for r in rows]), np.array([r["reference"] for r in rows])
        print(f"{dataset}: KDE-ratio rejection / base = {ref.mean() / base.mean():.3f}, "
              f"below base in {(ref < base).sum()}/{len(rows)} seeds")
    print(f"{time.perf_counter() - start:.0f} s wall")


if __name__ == "__main__":
    main()
