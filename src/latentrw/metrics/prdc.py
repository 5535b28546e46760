"""Manifold metrics from k-nearest-neighbour balls.

- Precision / recall, Kynkäänniemi et al. 2019 (k=3): precision is the fraction of fake
  samples inside the union of balls around real samples (radius = distance to the k-th
  nearest real neighbour); recall swaps the roles.
- Density / coverage, Naeem et al. 2020 (k=5): density = (1/kM) Σ_j Σ_i 1[Y_j ∈ B(X_i)],
  coverage = fraction of real balls holding at least one fake sample.

Definitions follow the reference ``prdc`` package (strict ``<``, the k-th neighbour counted
without the point itself). Distances are Euclidean, in float64, computed ``chunk`` rows at a
time so 10k × 10k never needs more than ``chunk × N`` distances in memory.
"""

from __future__ import annotations

import numpy as np
import torch


def _as64(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x.detach().cpu(), dtype=torch.float64)


def pairwise_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Exact Euclidean distances (no ||a||²+||b||²−2ab shortcut, which loses precision)."""
    return torch.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist")


def kth_neighbour_radii(x, k: int | list[int], chunk: int = 1000) -> torch.Tensor:
    """Distance from each point of x to its k-th nearest *other* point, shape (N, len(ks))."""
    x = _as64(x)
    ks = [k] if isinstance(k, int) else list(k)
    if max(ks) + 1 > len(x):
        raise ValueError(f"{len(x)} points are too few for k={max(ks)} nearest neighbours")
    out = []
    for start in range(0, len(x), chunk):
        d = pairwise_distances(x[start:start + chunk], x)
        smallest = d.topk(max(ks) + 1, dim=1, largest=False).values  # includes the point itself (0)
        out.append(smallest[:, ks])
    return torch.cat(out)


def prdc(real, fake, k_pr: int = 3, k_dc: int = 5, chunk: int = 1000,
         real_radii: torch.Tensor | None = None) -> dict[str, float]:
    """Precision and recall (k=k_pr), density and coverage (k=k_dc) of ``fake`` against ``real``.

    ``real_radii``: ``kth_neighbour_radii(real, [k_pr, k_dc])`` when already known. They depend on
    the real set only, and on 10,000 reference images they are most of the cost of one call."""
    real, fake = _as64(real), _as64(fake)
    if real_radii is None:
        real_radii = kth_neighbour_radii(real, [k_pr, k_dc], chunk)
    elif tuple(real_radii.shape) != (len(real), 2):
        raise ValueError(f"real_radii has shape {tuple(real_radii.shape)}, expected ({len(real)}, 2)")
    r_pr, r_dc = real_radii[:, 0], real_radii[:, 1]
    fake_r_pr = kth_neighbour_radii(fake, k_pr, chunk)[:, 0]
    in_real_ball = torch.zeros(len(fake), dtype=torch.bool)
    density_count = torch.zeros(len(fake), dtype=torch.float64)
    recalled = torch.zeros(len(real), dtype=torch.bool)
    covered = torch.zeros(len(real), dtype=torch.bool)
    for start in range(0, len(real), chunk):
        stop = min(start + chunk, len(real))
        d = pairwise_distances(real[start:stop], fake)  # (chunk, M)
        in_real_ball |= (d < r_pr[start:stop, None]).any(0)
        density_count += (d < r_dc[start:stop, None]).sum(0)
        recalled[start:stop] = (d < fake_r_pr[None, :]).any(1)
        covered[start:stop] = d.min(1).values < r_dc[start:stop]
    return {
        "precision": float(in_real_ball.double().mean()),
        "recall": float(recalled.double().mean()),
        "density": float(density_count.mean() / k_dc),
        "coverage": float(covered.double().mean()),
    }
