"""A known answer for Algorithm 1 on a 2-D run: the best latent weights any w could reach.

On N latents z_i of a frozen G, the weights a_i ∈ [0, m/N] with Σ a_i = 1 that minimise the
EMD between Σ a_i δ_{G(z_i)} and N test points solve a partial optimal-transport problem (each
generated point may send at most m/N mass, exactly 1 must arrive): POT's
``ot.partial.partial_wasserstein``. Its value is a floor for latentRS at this m on this sample
(it may exploit the sample, so a smooth w(z) cannot quite reach it); w ≡ 1 gives the base EMD.
For each trained w given, prints the EMD of the latentRS distribution min(1, w/c)/Z on the same
points and its rank correlation with the optimal weights.

    python scripts/w_optimum_2d.py runs/t1/swissroll runs/t1/swissroll/reweight-s0 [more w dirs]
"""

from __future__ import annotations

import argparse

import numpy as np
import ot
import torch
from scipy.stats import spearmanr

from latentrw.data import load_dataset
from latentrw.reweight import load_w
from latentrw.run import load_run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run")
    ap.add_argument("w_dirs", nargs="*")
    ap.add_argument("--n", type=int, default=2500)
    ap.add_argument("--m", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=123)
    args = ap.parse_args()
    run = load_run(args.run)
    real = load_dataset(run.config.dataset).x_test[:args.n].double().numpy()
    z = run.prior.sample(args.n, torch.Generator().manual_seed(args.seed))
    with torch.no_grad():
        x = run.G(z).double().numpy()
    cost = ot.dist(x, real, metric="euclidean")
    uniform = np.full(args.n, 1 / args.n)
    plan = ot.partial.partial_wasserstein(np.full(args.n, args.m / args.n), uniform, cost, m=1.0, numItermax=10**7)
    w_opt = plan.sum(1) * args.n
    print(f"base EMD {ot.emd2(uniform, uniform, cost, numItermax=10**7):.4f}   optimum (m = {args.m}) "
          f"{float((plan * cost).sum()):.4f}   optimal w: {np.mean(w_opt > 1e-9):.2f} of latents kept, "
          f"{np.mean(w_opt > args.m - 1e-6):.2f} at m")
    for w_dir in args.w_dirs:
        with torch.no_grad():
            wz = load_w(w_dir)(z).double().numpy()
        accept = np.minimum(wz / (args.m * wz.mean()), 1.0)
        e = ot.emd2(accept / accept.sum(), uniform, cost, numItermax=10**7)
        print(f"{w_dir}: latentRS EMD {e:.4f}   Spearman(w, optimal w) {spearmanr(wz, w_opt)[0]:.3f}")


if __name__ == "__main__":
    main()
