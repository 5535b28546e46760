"""Earth mover's distance between two point clouds (features or 2-D coordinates).

``emd`` solves the exact optimal transport with POT's network simplex (``ot.emd2``) between
uniform weights 1/n and 1/m with a Euclidean ground cost (exact float64 distances), so for
equal sizes it is the mean cost of the optimal matching (sum / n) -- the number Table 1 of
Issenhuth et al. reports. A solver that stops before the optimum is an error, not a number.
Its cost grows roughly as n³; ``emd_subsampled`` averages the exact EMD of ``repeats``
random pairs of subsets of size ``n``. It is biased *upwards* relative to the EMD of larger
samples (small samples match worse), so only EMDs with the same n compare; the bias is
measured by ``benchmarks/emd_subsampling.py`` and quoted in the README.

``squared=True`` takes the squared Euclidean ground cost instead (the squared 2-Wasserstein
distance of the two samples): the cost that POT's ``ot.dist`` builds by default, and the one
whose values on the 2-D toys land on the scale of the paper's Table 1 (see :mod:`latentrw.table1`).
"""

from __future__ import annotations

import numpy as np
import torch

from latentrw.metrics.prdc import pairwise_distances


def _np64(x) -> np.ndarray:
    return x.detach().cpu().double().numpy() if torch.is_tensor(x) else np.asarray(x, dtype=np.float64)


def emd(a, b, max_iter: int = 10_000_000, weights_a=None, squared: bool = False) -> float:
    """Exact EMD with Euclidean cost (mean transport cost per unit mass), or with its square
    (``squared``); uniform weights, or ``weights_a`` (non-negative, normalised here) on the points
    of ``a``."""
    a, b = _np64(a), _np64(b)
    cost = pairwise_distances(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    if squared:
        cost = cost**2
    wa = np.full(len(a), 1.0 / len(a)) if weights_a is None else _np64(weights_a) / _np64(weights_a).sum()
    wb = np.full(len(b), 1.0 / len(b))
    import ot  # here, not at the top: POT imports scikit-learn, 2.5 s that most commands never need

    value, log = ot.emd2(wa, wb, cost, numItermax=max_iter, log=True)
    if log["result_code"] != 1:
        raise RuntimeError(f"EMD solver did not reach the optimum ({log['warning']}); raise max_iter")
    return float(value)


def emd_subsampled(a, b, n: int = 2000, repeats: int = 5, seed: int = 0,
                   squared: bool = False) -> tuple[float, float]:
    """Mean and std of the exact EMD over ``repeats`` random subset pairs of size ``n`` (the
    same pairs for a given ``seed`` whatever ``squared`` is)."""
    a, b = _np64(a), _np64(b)
    rng = np.random.default_rng(seed)
    n = min(n, len(a), len(b))
    values = [emd(a[rng.choice(len(a), n, replace=False)], b[rng.choice(len(b), n, replace=False)], squared=squared)
              for _ in range(repeats)]
    return float(np.mean(values)), float(np.std(values))
