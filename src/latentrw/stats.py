"""Spread over seeds, computed the same way in every table of the project."""

from __future__ import annotations

import math
from collections.abc import Sequence


def mean_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """``(mean, std, half-width)`` of a Student-t confidence interval of the mean:
    half-width = t_{(1+level)/2, n-1} · s / √n with s the sample std (ddof 1). One value gives
    an infinite half-width (no spread is known), never a misleading ±0."""
    n = len(values)
    if n == 0:
        raise ValueError("mean_ci needs at least one value")
    mean = sum(values) / n
    if n == 1:
        return mean, math.nan, math.inf
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    from scipy import stats  # here: scipy.stats takes 1.5 s to import, and most commands never need it

    return mean, std, float(stats.t.ppf((1 + level) / 2, n - 1)) * std / math.sqrt(n)


def paired_diff_ci(values: Sequence[float], reference: Sequence[float],
                   level: float = 0.95) -> tuple[float, float, float]:
    """:func:`mean_ci` of the per-seed differences ``values[i] − reference[i]``: the paired
    t-interval. Use it when both were measured with the same seed, e.g. a sampler and the base
    generator drawing from the same proposal stream; the seed-to-seed variation they share then
    cancels and a consistent gain shows even where the two unpaired intervals overlap."""
    if len(values) != len(reference):
        raise ValueError(f"paired_diff_ci needs as many values as references ({len(values)} != {len(reference)})")
    return mean_ci([v - r for v, r in zip(values, reference)], level)
