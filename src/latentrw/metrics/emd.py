"""Earth mover's distance between two point clouds (features or 2-D coordinates).

``emd`` solves the exact optimal transport with POT's network simplex (``ot.emd2``) between
uniform weights 1/n and 1/m with a Euclidean ground cost, so for equal sizes it is the mean
cost of the optimal matching (sum / n) -- the number Table 1 of Issenhuth et al. reports.
Its cost grows roughly as n³; ``emd_subsampled`` averages the exact EMD of ``repeats``
random pairs of subsets of size ``n``. It is biased *upwards* relative to the full-size EMD
(small samples match worse); the bias and spread are measured in the tests and the README.
"""

from __future__ import annotations

import numpy as np
import ot
import torch


def _np64(x) -> np.ndarray:
    return x.detach().cpu().double().numpy() if torch.is_tensor(x) else np.asarray(x, dtype=np.float64)


def emd(a, b, max_iter: int = 10_000_000) -> float:
    """Exact EMD with Euclidean cost and uniform weights (mean transport cost per unit mass)."""
    a, b = _np64(a), _np64(b)
    cost = ot.dist(a, b, metric="euclidean")
    wa, wb = np.full(len(a), 1.0 / len(a)), np.full(len(b), 1.0 / len(b))
    return float(ot.emd2(wa, wb, cost, numItermax=max_iter))


def emd_subsampled(a, b, n: int = 2000, repeats: int = 5, seed: int = 0) -> tuple[float, float]:
    """Mean and std of the exact EMD over ``repeats`` random subset pairs of size ``n``."""
    a, b = _np64(a), _np64(b)
    rng = np.random.default_rng(seed)
    n = min(n, len(a), len(b))
    values = [emd(a[rng.choice(len(a), n, replace=False)], b[rng.choice(len(b), n, replace=False)])
              for _ in range(repeats)]
    return float(np.mean(values)), float(np.std(values))
