"""Known answers for Algorithm 1 on a 2-D run: how low latentRS's EMD could go, in and out of sample.

On N latents z_i of a frozen G, the weights a_i ∈ [0, m/N] with Σ a_i = 1 that minimise the
EMD between Σ a_i δ_{G(z_i)} and N real points solve a partial optimal-transport problem (each
generated point may send at most m/N mass, exactly 1 must arrive): POT's
``ot.partial.partial_wasserstein``. The script prints, on one fixed set of N latents and N test
points (a paired comparison):

- ``base``: the EMD of w ≡ 1, and ``real vs real``: N training points against the same test
  points -- the floor at this N, which no generator reaches in expectation;
- ``in-sample optimum``: the optimal weights on these very points. They exploit the sample (the
  same procedure on N real points goes far below the floor), so this bounds nothing a smooth w
  could reach;
- ``held-out oracle``: the optimal weights solved on ``--oracle-rounds`` other sets of N latents,
  each against N random *training* points, then averaged for each paired latent over its k
  nearest solved latents (a conditional mean E[a | z], for low-dimensional latents) and scored by
  latentRS on the paired set -- a smooth w that transfers, which the in-sample weights do not;
- for each trained w given: the latentRS EMD, acceptance min(1, w/(m·Ê w)), and its rank
  correlation with the in-sample optimal weights.

    python experiments/w_optimum_2d.py runs/t1/swissroll runs/t1/swissroll/reweight-s0 [more w dirs]
"""

from __future__ import annotations

import argparse

import numpy as np
import ot
import torch
from scipy.stats import spearmanr

from latentrw.data import load_dataset
from latentrw.metrics.emd import emd
from latentrw.reweight import load_w
from latentrw.run import load_run


def optimal_weights(x: np.ndarray, real: np.ndarray, m: float) -> tuple[np.ndarray, float]:
    """Per-point weights (mean 1, at most m) of the EMD-optimal reweighting of x towards real, and
    that EMD."""
    n = len(x)
    cost = ot.dist(x, real, metric="euclidean")
    plan = ot.partial.partial_wasserstein(np.full(n, m / n), np.full(len(real), 1 / len(real)), cost, m=1.0,
                                          numItermax=10**7)
    return plan.sum(1) * n, float((plan * cost).sum())


def held_out_oracle(run, train: torch.Tensor, z: torch.Tensor, m: float, rounds: int, k: int,
                    seed: int) -> np.ndarray:
    """The held-out oracle's weights at latents z: the mean of the optimal weights of the k nearest
    latents among ``rounds`` independent sets of len(z) latents, each solved against len(z) random
    training points."""
    g = torch.Generator().manual_seed(seed)
    zs, ws = [], []
    for _ in range(rounds):
        zr = run.prior.sample(len(z), g)
        with torch.no_grad():
            xr = run.G(zr).double().numpy()
        pick = torch.randperm(len(train), generator=g)[:len(z)]
        zs.append(zr)
        ws.append(torch.as_tensor(optimal_weights(xr, train[pick].double().numpy(), m)[0]))
    nearest = torch.cdist(z, torch.cat(zs)).topk(k, largest=False).indices
    return torch.cat(ws)[nearest].mean(1).numpy()


def latent_rs_emd(wz: np.ndarray, x: np.ndarray, real: np.ndarray, m: float) -> float:
    """The exact EMD between the latentRS distribution on x (weights min(1, w/(m·mean w))) and
    the real points."""
    return emd(x, real, weights_a=np.minimum(wz / (m * wz.mean()), 1.0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run")
    ap.add_argument("w_dirs", nargs="*")
    ap.add_argument("--n", type=int, default=2500)
    ap.add_argument("--m", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=123)
    ap.add_argument("--oracle-rounds", type=int, default=24, help="solved sets of the held-out oracle (0: skip it)")
    ap.add_argument("--oracle-k", type=int, default=25, help="nearest solved latents averaged by the oracle")
    args = ap.parse_args()
    run = load_run(args.run)
    ds = load_dataset(run.config.dataset)
    real = ds.x_test[:args.n].double().numpy()
    z = run.prior.sample(args.n, torch.Generator().manual_seed(args.seed))
    with torch.no_grad():
        x = run.G(z).double().numpy()
    w_opt, e_opt = optimal_weights(x, real, args.m)
    e_real = emd(ds.x_train[:args.n], real)
    print(f"base EMD {emd(x, real):.4f}   real vs real {e_real:.4f}   "
          f"in-sample optimum (m = {args.m}) {e_opt:.4f}: {np.mean(w_opt > 1e-9):.2f} of latents kept, "
          f"{np.mean(w_opt > args.m - 1e-6):.2f} at m")
    if args.oracle_rounds > 0:
        wz = held_out_oracle(run, ds.x_train, z, args.m, args.oracle_rounds, args.oracle_k, args.seed + 1)
        print(f"held-out oracle ({args.oracle_rounds} rounds, k = {args.oracle_k}): latentRS EMD "
              f"{latent_rs_emd(wz, x, real, args.m):.4f}   Spearman(oracle, in-sample optimal w) {spearmanr(wz, w_opt)[0]:.3f}")
    for w_dir in args.w_dirs:
        with torch.no_grad():
            wz = load_w(w_dir)(z).double().numpy()
        print(f"{w_dir}: latentRS EMD {latent_rs_emd(wz, x, real, args.m):.4f}   "
              f"Spearman(w, optimal w) {spearmanr(wz, w_opt)[0]:.3f}")


if __name__ == "__main__":
    main()
