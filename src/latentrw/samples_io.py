"""Reading samples someone hands us: a folder of PNGs or an ``.npz``.

Both return model-scale tensors: images as float in [-1, 1], shape (N, 1, 28, 28); 2-D
points as float (N, 2). Malformed input is a :class:`DataError` naming the file.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from latentrw.errors import DataError


def _images_to_model(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images.astype(np.float32)).unsqueeze(1) / 127.5 - 1.0


def load_png_folder(directory: Path, size: tuple[int, int] = (28, 28)) -> torch.Tensor:
    """All ``*.png`` in ``directory`` (sorted by name), each a ``size`` grayscale image."""
    directory = Path(directory)
    files = sorted(directory.glob("*.png"))
    files = [f for f in files if f.name != "grid.png"]  # the preview `latentrw sample` writes beside them
    if not files:
        raise DataError(f"{directory}: no PNG files found")
    out = np.empty((len(files), *size[::-1]), dtype=np.uint8)
    for i, f in enumerate(files):
        try:
            with Image.open(f) as im:
                if im.size != size:
                    raise DataError(f"{f}: image is {im.size[0]}x{im.size[1]}, expected {size[0]}x{size[1]}")
                out[i] = np.asarray(im.convert("L"))
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise DataError(f"{f}: not a readable PNG ({exc})") from exc
    return _images_to_model(out)


def load_npz(path: Path, key: str = "x") -> torch.Tensor:
    """Samples from an ``.npz``: uint8 images (N, 28, 28) / (N, 1, 28, 28), or float points (N, 2)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            if key not in data:
                raise DataError(f"{path}: no array named {key!r} (has {sorted(data.files)})")
            x = data[key]
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npz ({exc})") from exc
    if x.dtype == np.uint8:  # grayscale images: (N, H, W), (N, 1, H, W) or (N, H, W, 1)
        if x.ndim == 4 and x.shape[1] == 1:
            x = x[:, 0]
        elif x.ndim == 4 and x.shape[3] == 1:
            x = x[..., 0]
        if x.ndim == 3:
            return _images_to_model(x)
    if np.issubdtype(x.dtype, np.floating) and x.ndim == 2:
        if not np.isfinite(x).all():
            raise DataError(f"{path}: {key} holds NaN or infinite values")
        return torch.from_numpy(x.astype(np.float32))
    raise DataError(f"{path}: {key} has dtype {x.dtype} and shape {x.shape}; expected uint8 grayscale images "
                    "(N, 28, 28) or float points (N, 2)")
