"""Kernel Inception Distance (Bińkowski et al. 2018): the unbiased estimate of MMD² with
the cubic polynomial kernel k(x, y) = (x·y / d + 1)³, averaged over random subsets.

Defaults and subset sampling are torch-fidelity's: 100 subsets of 1000 samples, each drawn
without replacement from a ``np.random.RandomState(2020)``, fake indices before real ones.
With fewer than 1000 samples the subsets shrink to the sample size, with a warning: such
KIDs are not comparable with the standard ones.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

KID_SEED = 2020  # torch-fidelity's default


def polynomial_kernel(x: torch.Tensor, y: torch.Tensor, degree: int = 3, coef0: float = 1.0) -> torch.Tensor:
    return (x @ y.T / x.shape[1] + coef0) ** degree


def mmd2_unbiased(x: torch.Tensor, y: torch.Tensor) -> float:
    """Unbiased MMD² between samples x (m, d) and y (n, d) with the polynomial kernel."""
    m, n = len(x), len(y)
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    term_xx = (k_xx.sum() - k_xx.diagonal().sum()) / (m * (m - 1))
    term_yy = (k_yy.sum() - k_yy.diagonal().sum()) / (n * (n - 1))
    return float(term_xx + term_yy - 2 * k_xy.mean())


def kid(features_fake, features_real, subsets: int = 100, subset_size: int = 1000,
        seed: int = KID_SEED) -> tuple[float, float]:
    """KID as (mean, std) over ``subsets`` random subsets of ``subset_size`` from each set."""
    fake = torch.as_tensor(np.asarray(features_fake), dtype=torch.float64)
    real = torch.as_tensor(np.asarray(features_real), dtype=torch.float64)
    size = min(subset_size, len(fake), len(real))
    if size < 2:
        raise ValueError("KID needs at least 2 samples per set")
    if size < subset_size:
        warnings.warn(f"KID subsets of {size} instead of {subset_size}: not comparable with standard KID",
                      stacklevel=2)
    rng = np.random.RandomState(seed)
    values = []
    for _ in range(subsets):
        f = fake[rng.choice(len(fake), size, replace=False)]
        r = real[rng.choice(len(real), size, replace=False)]
        values.append(mmd2_unbiased(f, r))
    return float(np.mean(values)), float(np.std(values))
