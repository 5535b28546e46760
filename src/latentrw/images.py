"""Writing samples people can look at: PNG grids, single PNGs, 2-D scatter plots."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from latentrw.fileio import atomic_write_bytes


def _save_png(img: Image.Image, path: Path) -> None:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())


def grid(images: torch.Tensor, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """Tile uint8 images (N, H, W) into one uint8 array with ``pad`` pixels of gap."""
    n, h, w = images.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    ncol = math.ceil(n / nrow)
    out = np.zeros((ncol * (h + pad) + pad, nrow * (w + pad) + pad), dtype=np.uint8)
    arr = images.cpu().numpy()
    for i in range(n):
        r, c = divmod(i, nrow)
        out[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = arr[i]
    return out


def save_grid(images: torch.Tensor, path: Path, nrow: int | None = None, scale: int = 2) -> None:
    """Save uint8 images (N, H, W) as one PNG grid, upscaled ``scale`` times for viewing."""
    img = Image.fromarray(grid(images, nrow))
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    _save_png(img, path)


def save_pngs(images: torch.Tensor, directory: Path) -> None:
    """One 28x28 grayscale PNG per image, named 00000.png, 00001.png, ..."""
    directory.mkdir(parents=True, exist_ok=True)
    width = max(5, len(str(len(images) - 1)))
    for i, im in enumerate(images.cpu().numpy()):
        Image.fromarray(im, mode="L").save(directory / f"{i:0{width}d}.png")


def save_scatter(points: torch.Tensor, path: Path, reference: torch.Tensor | None = None, title: str = "") -> None:
    """Scatter plot of 2-D samples over the real points (grey)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    if reference is not None:
        ax.scatter(*reference.cpu().numpy().T, s=1, c="0.75", label="data")
    ax.scatter(*points.detach().cpu().numpy().T, s=1, c="tab:blue", label="samples")
    ax.set_aspect("equal")
    ax.set_title(title)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
