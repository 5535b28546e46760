"""Kernel Inception Distance (Bińkowski et al. 2018): the unbiased estimate of MMD² with
the cubic polynomial kernel k(x, y) = (x·y / d + 1)³, averaged over random subsets.

Defaults are torch-fidelity's: 100 subsets of 1000 samples each (without replacement
within a subset), seeded.
"""

from __future__ import annotations

import numpy as np
import torch


def polynomial_kernel(x: torch.Tensor, y: torch.Tensor, degree: int = 3, coef0: float = 1.0) -> torch.Tensor:
    return (x @ y.T / x.shape[1] + coef0) ** degree


def mmd2_unbiased(x: torch.Tensor, y: torch.Tensor) -> float:
    """Unbiased MMD² between samples x (m, d) and y (n, d) with the polynomial kernel."""
    m, n = len(x), len(y)
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    term_xx = (k_xx.sum() - k_xx.diagonal().sum()) / (m * (m - 1))
    term_yy = (k_yy.sum() - k_yy.diagonal().sum()) / (n * (n - 1))
    return float(term_xx + term_yy - 2 * k_xy.mean())


def kid(features_a, features_b, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """KID as (mean, std) over ``subsets`` random subsets of ``subset_size`` from each set."""
    a = torch.as_tensor(np.asarray(features_a), dtype=torch.float64)
    b = torch.as_tensor(np.asarray(features_b), dtype=torch.float64)
    size = min(subset_size, len(a), len(b))
    if size < 2:
        raise ValueError("KID needs at least 2 samples per set")
    rng = np.random.default_rng(seed)
    values = [mmd2_unbiased(a[rng.choice(len(a), size, replace=False)], b[rng.choice(len(b), size, replace=False)])
              for _ in range(subsets)]
    return float(np.mean(values)), float(np.std(values))
