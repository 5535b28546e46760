"""Small MLPs for 2-D data (the DRS/DOT toy setting uses 3-4 layers of width 128-512).

``activation``: ``"relu"`` (Gulrajani et al.'s gan_toy.py, the default) or ``"leaky_relu"``
(slope 0.2: DOT's 2-D models, Chainer's default slope)."""

from __future__ import annotations

import math

import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.2)}


def _mlp(d_in: int, hidden: tuple[int, ...], d_out: int, dropout: float = 0.0, activation: str = "relu") -> nn.Sequential:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, not {activation!r}")
    layers: list[nn.Module] = []
    for h in hidden:
        layers += [nn.Linear(d_in, h), ACTIVATIONS[activation]()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        d_in = h
    layers.append(nn.Linear(d_in, d_out))
    return nn.Sequential(*layers)


class ToyGenerator(nn.Module):
    def __init__(self, z_dim: int = 2, hidden: tuple[int, ...] = (128, 128, 128), out_shape: tuple[int, ...] = (2,),
                 activation: str = "relu"):
        super().__init__()
        self.config = {"z_dim": z_dim, "hidden": list(hidden), "out_shape": list(out_shape), "activation": activation}
        self.z_dim, self.out_shape = z_dim, tuple(out_shape)
        self.net = _mlp(z_dim, tuple(hidden), math.prod(out_shape), activation=activation)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.out_shape)


class ToyDiscriminator(nn.Module):
    def __init__(self, in_shape: tuple[int, ...] = (2,), hidden: tuple[int, ...] = (128, 128, 128), dropout: float = 0.0,
                 activation: str = "relu"):
        super().__init__()
        self.config = {"in_shape": list(in_shape), "hidden": list(hidden), "dropout": dropout, "activation": activation}
        self.net = _mlp(math.prod(in_shape), tuple(hidden), 1, dropout, activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1)).squeeze(1)
