"""The in-memory dataset every part of latentrw consumes."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch

from latentrw.errors import ConfigError


@dataclass
class Dataset:
    """A dataset held in memory with its train/test split.

    Image sets keep their exact ``uint8`` pixels, shape ``(N, 28, 28)``; 2-D sets
    keep ``float32`` points, shape ``(N, 2)``. Batches are index slices of
    :meth:`model_input`, never a per-item DataLoader.
    """

    name: str
    kind: str  # "image" or "points"
    x_train: torch.Tensor
    x_test: torch.Tensor
    y_train: torch.Tensor | None = None
    y_test: torch.Tensor | None = None
    info: dict = field(default_factory=dict)  # where it came from, checksums

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """Shape of one model input: ``(1, 28, 28)`` for images, ``(2,)`` for points."""
        return (1, *self.x_train.shape[1:]) if self.kind == "image" else tuple(self.x_train.shape[1:])

    def model_input(self, split: str = "train", device: torch.device | str = "cpu") -> torch.Tensor:
        """The split as float32 model input: images scaled to [-1, 1] with a channel axis."""
        x = self.x_train if split == "train" else self.x_test
        x = x.to(device)
        if self.kind == "image":
            return (x.float().unsqueeze(1) / 127.5) - 1.0
        return x.float()

    def hold_out(self, n: int) -> tuple[Dataset, Dataset | None]:
        """This set without the last ``n`` training items, and a set of those items (None when
        ``n`` is 0). Both keep the test split; model selection must not read it."""
        if n == 0:
            return self, None
        if not 0 < n < len(self.x_train):
            raise ConfigError(f"cannot hold out {n} of the {len(self.x_train)} training samples of {self.name}; "
                              f"choose 0 < holdout < {len(self.x_train)}")

        def part(sl: slice) -> Dataset:
            y = None if self.y_train is None else self.y_train[sl]
            return dataclasses.replace(self, x_train=self.x_train[sl], y_train=y)
        return part(slice(None, -n)), part(slice(-n, None))


def to_uint8_images(x: torch.Tensor) -> torch.Tensor:
    """Map generator output in [-1, 1], shape (N, 1, H, W), to uint8 pixels (N, H, W)."""
    return ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).reshape(x.shape[0], *x.shape[-2:]).cpu()


def quantize_images(x: torch.Tensor) -> torch.Tensor:
    """Round model-scale images to the 256 grey levels a PNG stores, staying in model scale, so
    samples evaluated straight from G score exactly as their exported PNGs do."""
    return to_uint8_images(x).float().unsqueeze(1) / 127.5 - 1.0


def as_exported(x: torch.Tensor) -> torch.Tensor:
    """Samples as their exported files hold them: images quantised (:func:`quantize_images`),
    2-D points unchanged. Evaluate this, so a score matches the score of the exported files."""
    return quantize_images(x) if x.dim() == 4 else x
