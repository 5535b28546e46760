"""2-D synthetic datasets generated from a seed, each with a fixed train/test sample.

- ``25gaussians``: a 5x5 grid of Gaussians at {-4,-2,0,2,4}^2 with std 0.05, equal
  weights, divided by 2.828 -- the setting of DRS (Azadi et al. 2019, §5.1) and, with DOT's
  scaling (Tanaka 2019, its 2-D demo), of Table 1 of Issenhuth et al. 2022.
- ``swissroll``: the 2-D Swiss roll of scikit-learn's ``make_swiss_roll(noise=0.25)``,
  columns 0 and 2 ((t cos t, t sin t) with t ~ 1.5π(1 + 2u), noise std 0.25), divided by
  7.5 -- DOT's scaling.
- ``4clusters``: four Gaussians at (±2, ±2) with std 0.1 -- ours.

numpy's PCG64 generator is used so the points are identical on every platform.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from latentrw.data.dataset import Dataset
from latentrw.fileio import sha256_bytes

N_TRAIN, N_TEST = 50_000, 10_000
TRAIN_SEED, TEST_SEED = 0, 1


def _mixture(means: np.ndarray, std: float) -> Callable[[np.random.Generator, int], np.ndarray]:
    def sample(rng: np.random.Generator, n: int) -> np.ndarray:
        k = rng.integers(len(means), size=n)
        return means[k] + std * rng.standard_normal((n, 2))

    return sample


DOT_SCALE = {"25gaussians": 2.828, "swissroll": 7.5}  # DOT's divisors ("stdev", "stdev plus a little")
_GRID = np.array([(x, y) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)], dtype=np.float64) / DOT_SCALE["25gaussians"]


def _swissroll(rng: np.random.Generator, n: int) -> np.ndarray:
    t = 1.5 * np.pi * (1 + 2 * rng.random(n))
    pts = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) + 0.25 * rng.standard_normal((n, 2))
    return pts / DOT_SCALE["swissroll"]


GENERATORS: dict[str, Callable[[np.random.Generator, int], np.ndarray]] = {
    "25gaussians": _mixture(_GRID, 0.05 / DOT_SCALE["25gaussians"]),
    "swissroll": _swissroll,
    "4clusters": _mixture(np.array([(-2, -2), (-2, 2), (2, -2), (2, 2)], dtype=np.float64), 0.1),
}

# Centres of the modes, used by mode-coverage statistics of the 2-D sets.
MODES = {"25gaussians": _GRID, "4clusters": np.array([(-2, -2), (-2, 2), (2, -2), (2, 2)], dtype=np.float64)}


def load(name: str) -> Dataset:
    """Build a 2-D dataset; the same name always gives the same points."""
    draw = GENERATORS[name]
    train = draw(np.random.Generator(np.random.PCG64(TRAIN_SEED)), N_TRAIN).astype(np.float32)
    test = draw(np.random.Generator(np.random.PCG64(TEST_SEED)), N_TEST).astype(np.float32)
    return Dataset(
        name=name,
        kind="points",
        x_train=torch.from_numpy(train),
        x_test=torch.from_numpy(test),
        info={"source": f"generated (PCG64 seeds {TRAIN_SEED}/{TEST_SEED})",
              "sha256": {"train": sha256_bytes(train.tobytes()), "test": sha256_bytes(test.tobytes())}},
    )
