"""Fréchet distance between Gaussians fitted to features (Heusel et al. 2017, eq. 6):

    FID = ||μ1 − μ2||² + tr(Σ1) + tr(Σ2) − 2 tr((Σ1^{1/2} Σ2 Σ1^{1/2})^{1/2})

Computed in float64. tr((Σ1 Σ2)^{1/2}) equals the trace of the square root of the
*symmetric* PSD matrix Σ1^{1/2} Σ2 Σ1^{1/2}, whose eigenvalues ``eigh`` finds stably;
this avoids ``scipy.linalg.sqrtm`` of the non-symmetric product Σ1 Σ2 (complex
round-off, slow convergence) that pytorch-fid works around.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch


def _np64(x) -> np.ndarray:
    return x.detach().cpu().double().numpy() if torch.is_tensor(x) else np.asarray(x, dtype=np.float64)


def gaussian_stats(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance (ddof=1, as ``np.cov``) of features (N, d), in float64."""
    f = _np64(features)
    n, d = f.shape
    if n < 2:
        raise ValueError("FID needs at least 2 samples")
    if n < d:
        warnings.warn(f"FID from {n} samples of {d}-d features: the covariance is singular and FID is "
                      "strongly biased upwards; use N >= 10,000 for reported numbers", stacklevel=2)
    return f.mean(0), np.cov(f, rowvar=False)


def _sqrt_psd(m: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((m + m.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """FID between N(mu1, sigma1) and N(mu2, sigma2)."""
    mu1, mu2, sigma1, sigma2 = (np.asarray(a, dtype=np.float64) for a in (mu1, mu2, sigma1, sigma2))
    root1 = _sqrt_psd(sigma1)
    middle = root1 @ sigma2 @ root1
    eig = np.linalg.eigvalsh((middle + middle.T) / 2)
    tr_covmean = np.sqrt(np.clip(eig, 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean)


def fid(features_a, features_b) -> float:
    """FID between two feature sets (N, d)."""
    return frechet_distance(*gaussian_stats(features_a), *gaussian_stats(features_b))
