"""Class statistics from a dataset classifier's logits.

- ``class_histogram``: fraction of samples predicted as each class.
- ``kl_to_uniform``: KL(histogram || uniform) -- 0 when every class is equally frequent.
- ``modes_covered``: classes predicted for at least ``min_fraction`` of the samples
  (default: 1/(4·C), a quarter of the uniform share).
- ``in_between_rate``: fraction of samples whose top class probability is below a
  threshold -- the images "in between the classes" that motivate latent reweighting.
  ``in_between_threshold`` calibrates the threshold on real images so that at most
  ``quantile`` (1 %) of them fall under it.
"""

from __future__ import annotations

import math

import torch


def class_histogram(logits: torch.Tensor) -> torch.Tensor:
    n_classes = logits.shape[1]
    return torch.bincount(logits.argmax(1), minlength=n_classes).double() / len(logits)


def kl_to_uniform(histogram: torch.Tensor) -> float:
    p = histogram.double()
    nz = p > 0
    return float((p[nz] * torch.log(p[nz] * len(p))).sum())


def modes_covered(histogram: torch.Tensor, min_fraction: float | None = None) -> int:
    threshold = min_fraction if min_fraction is not None else 1.0 / (4 * len(histogram))
    return int((histogram >= threshold).sum())


def top_probability(logits: torch.Tensor) -> torch.Tensor:
    return torch.softmax(logits.double(), dim=1).max(1).values


def in_between_threshold(real_logits: torch.Tensor, quantile: float = 0.01) -> float:
    """Largest threshold t such that at most ``quantile`` of real images have top probability < t."""
    top = top_probability(real_logits).sort().values
    allowed = math.floor(quantile * len(top))  # this many real images may fall under t
    return float(top[allowed]) if allowed < len(top) else 1.0


def in_between_rate(logits: torch.Tensor, threshold: float) -> float:
    return float((top_probability(logits) < threshold).double().mean())


def class_statistics(logits: torch.Tensor, threshold: float) -> dict:
    hist = class_histogram(logits)
    return {
        "class_histogram": [round(float(v), 6) for v in hist],
        "kl_uniform": kl_to_uniform(hist),
        "modes_covered": modes_covered(hist),
        "in_between": in_between_rate(logits, threshold),
    }
