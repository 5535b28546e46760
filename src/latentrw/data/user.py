"""Your own data as a named dataset: an ``.npz`` of arrays or a folder of images, converted
once into the cache (``CACHE/user/NAME/``: ``data.npz`` of uint8 images or float32 points, and
``meta.json``) and from then on used by name like ``mnist`` — for training, reweighting and as
the metrics' reference set.

- ``.npz``: ``x_train`` and ``x_test`` (and optional ``y_train``/``y_test`` integer labels), or a
  single ``x`` split by ``test_fraction``. Images: uint8 (N, H, W); points: float (N, 2). Read
  with ``allow_pickle=False``, so an object array is refused, never unpickled.
- a folder of PNG/JPEG files (any size, any mode): converted to grayscale, the shorter side
  resized to ``size`` and centre-cropped to ``size`` × ``size``; split by ``test_fraction``.

The image metrics need a feature extractor for the dataset: register one with
:func:`latentrw.features.register_extractor` or give ``latentrw evaluate --classifier
FILE``; 2-D points use their coordinates.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from latentrw.data.cache import cache_root
from latentrw.data.dataset import Dataset
from latentrw.errors import DataError
from latentrw.fileio import atomic_write_bytes, atomic_write_json, sha256_file

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
MAX_ITEMS = 10_000_000


def user_dir() -> Path:
    return cache_root() / "user"


def entries() -> dict[str, str]:
    """``{name: kind}`` of the datasets added so far."""
    out = {}
    if user_dir().is_dir():
        for meta in sorted(user_dir().glob("*/meta.json")):
            try:
                out[meta.parent.name] = json.loads(meta.read_text())["kind"]
            except (ValueError, KeyError, TypeError, OSError):
                continue  # a half-written entry is ignored; `latentrw data add` rewrites it
    return out


def _split(x: np.ndarray, y: np.ndarray | None, test_fraction: float, seed: int):
    if not 0 < test_fraction < 1:
        raise DataError("test_fraction must be in (0, 1)")
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = max(1, int(round(test_fraction * len(x))))
    if len(x) - n_test < 1:
        raise DataError(f"{len(x)} items are too few to split into train and test")
    test, train = order[:n_test], order[n_test:]
    return x[train], x[test], (y[train] if y is not None else None), (y[test] if y is not None else None)


def _check(x: np.ndarray, where: str) -> tuple[np.ndarray, str]:
    if x.ndim == 3 and x.dtype == np.uint8:
        return x, "image"
    if x.ndim == 2 and x.shape[1] == 2 and x.dtype.kind in "fiu" and np.isfinite(x).all():
        return x.astype(np.float32), "points"
    raise DataError(f"{where}: expected uint8 images (N, H, W) or finite 2-D points (N, 2), got {x.dtype} {x.shape}")


def _from_npz(path: Path, test_fraction: float, seed: int):
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded as z:
                arrays = {k: z[k] for k in z.files}
    # numpy's and zipfile's readers raise many types on a malformed archive: atheris found
    # NotImplementedError (an unsupported compression), RuntimeError (an encrypted member) and
    # tokenize.TokenError (a garbled .npy header) besides ValueError and BadZipFile. Whatever
    # the parser raises, the file is malformed; object arrays (pickles) are refused as ValueError.
    except MemoryError:
        raise  # a valid file too large for this machine is not a malformed one
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"{path}: not a readable .npz of plain arrays ({type(exc).__name__}: {exc})") from exc
    if not isinstance(loaded, np.lib.npyio.NpzFile):  # np.load reads a lone .npy too (found by atheris)
        raise DataError(f"{path}: a single .npy array, not an .npz; save x_train and x_test (or x) with numpy.savez")
    raw = sorted(k for k, v in arrays.items() if not isinstance(v, np.ndarray))
    if raw:  # numpy hands back the bytes of a member that is not a .npy file (found by atheris)
        raise DataError(f"{path}: member(s) {', '.join(raw)} are not .npy arrays; save the file with numpy.savez")
    if "x_train" in arrays and "x_test" in arrays:
        parts = [arrays["x_train"], arrays["x_test"], arrays.get("y_train"), arrays.get("y_test")]
    elif "x" in arrays:
        x, y = arrays["x"], arrays.get("y")
        if y is not None and (y.ndim != 1 or len(y) != len(x)):
            raise DataError(f"{path}: y must hold one integer label per item of x")
        parts = list(_split(x, y, test_fraction, seed))
    else:
        raise DataError(f"{path}: needs arrays x_train and x_test (or a single x); it has {sorted(arrays)}")
    (xtr, kind), (xte, kind2) = _check(parts[0], f"{path} train"), _check(parts[1], f"{path} test")
    if kind != kind2 or xtr.shape[1:] != xte.shape[1:]:
        raise DataError(f"{path}: train and test arrays differ in kind or shape")
    for y, x, split in ((parts[2], xtr, "train"), (parts[3], xte, "test")):
        if y is not None and (y.dtype.kind not in "iu" or y.shape != (len(x),)):
            raise DataError(f"{path}: y_{split} must hold one integer label per item")
    return xtr, xte, parts[2], parts[3], kind


def _image(path: Path, size: int) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(path.read_bytes())) as img:
            if img.width * img.height > 50_000_000:  # from the header, before decoding anything
                raise DataError(f"{path}: {img.width}x{img.height} pixels is too large")
            img.load()
            gray = img.convert("L")
    # PIL reports a broken PNG chunk as SyntaxError (found by fuzz/fuzz_inputs.py)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise DataError(f"{path}: not a readable image ({exc}); remove it from the folder") from exc
    scale = size / min(gray.size)
    w, h = max(size, round(gray.width * scale)), max(size, round(gray.height * scale))
    gray = gray.resize((w, h), Image.BILINEAR)
    left, top = (w - size) // 2, (h - size) // 2
    return np.asarray(gray.crop((left, top, left + size, top + size)), dtype=np.uint8)


def _from_folder(folder: Path, size: int, test_fraction: float, seed: int):
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"{folder}: no .png/.jpg/.jpeg files found")
    if len(files) > MAX_ITEMS:
        raise DataError(f"{folder}: {len(files)} images is more than {MAX_ITEMS}")
    x = np.stack([_image(p, size) for p in files])
    xtr, xte, _, _ = _split(x, None, test_fraction, seed)
    return xtr, xte, None, None, "image"


def add_dataset(name: str, source: Path | str, size: int = 28, test_fraction: float = 0.1, seed: int = 0) -> Path:
    """Convert ``source`` (an .npz file or a folder of images) into the named dataset; returns
    its cache folder. The name must be new to the built-in datasets."""
    from latentrw.data import DATASETS, DatasetEntry

    source = Path(source)
    if not NAME.match(name or ""):
        raise DataError(f"dataset name {name!r}: use 1-64 lower-case letters, digits, '-' or '_'")
    if name in DATASETS and name not in entries():
        raise DataError(f"{name} is a built-in dataset; choose another name")
    if not 8 <= size <= 256:
        raise DataError("size must be between 8 and 256 pixels")
    if source.is_dir():
        xtr, xte, ytr, yte, kind = _from_folder(source, size, test_fraction, seed)
    elif source.is_file():
        xtr, xte, ytr, yte, kind = _from_npz(source, test_fraction, seed)
    else:
        raise DataError(f"{source}: no such file or folder")
    out = user_dir() / name
    out.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    arrays = {"x_train": xtr, "x_test": xte, **({"y_train": ytr, "y_test": yte} if ytr is not None and yte is not None else {})}
    np.savez(buf, **arrays)
    atomic_write_bytes(out / "data.npz", buf.getvalue())
    atomic_write_json(out / "meta.json", {"name": name, "kind": kind, "source": str(source.resolve()),
                                          "n_train": len(xtr), "n_test": len(xte), "shape": list(xtr.shape[1:]),
                                          "sha256": sha256_file(out / "data.npz")})
    if name not in DATASETS:  # points get their coordinates as features (latentrw.features)
        DATASETS.add(name, DatasetEntry(lambda source_dir=None, _n=name: load(_n), kind))
    return out


def load(name: str) -> Dataset:
    """The dataset ``name`` added with :func:`add_dataset`, checked against its recorded sha256."""
    folder = user_dir() / name
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"{folder}: no readable meta.json ({exc}); add the dataset again with "
                        f"`latentrw data add {name} ...`") from exc
    if sha256_file(folder / "data.npz") != meta.get("sha256"):
        raise DataError(f"{folder / 'data.npz'} does not match its recorded sha256; add the dataset again")
    xtr, xte, ytr, yte, kind = _from_npz(folder / "data.npz", 0.1, 0)
    as_t = torch.from_numpy
    return Dataset(name, kind, as_t(xtr.copy()), as_t(xte.copy()),
                   as_t(ytr.astype(np.int64)) if ytr is not None else None,
                   as_t(yte.astype(np.int64)) if yte is not None else None,
                   info={"source": meta.get("source"), "sha256": meta["sha256"]})
