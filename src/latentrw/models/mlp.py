"""The course MLP GAN for 28x28 images.

G: z(100) -> 256 -> 512 -> 1024 -> 784, LeakyReLU(0.2), tanh output.
D: 784 -> 1024 -> 512 -> 256 -> 1, LeakyReLU(0.2), optional dropout; D returns
one raw score (logit / critic value) per sample.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class MLPGenerator(nn.Module):
    def __init__(self, z_dim: int = 100, hidden: tuple[int, ...] = (256, 512, 1024), out_shape: tuple[int, ...] = (1, 28, 28)):
        super().__init__()
        self.config = {"z_dim": z_dim, "hidden": list(hidden), "out_shape": list(out_shape)}
        self.z_dim, self.out_shape = z_dim, tuple(out_shape)
        layers: list[nn.Module] = []
        width = z_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.LeakyReLU(0.2)]
            width = h
        layers += [nn.Linear(width, math.prod(out_shape)), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.out_shape)


class MLPDiscriminator(nn.Module):
    def __init__(self, in_shape: tuple[int, ...] = (1, 28, 28), hidden: tuple[int, ...] = (1024, 512, 256), dropout: float = 0.0):
        super().__init__()
        self.config = {"in_shape": list(in_shape), "hidden": list(hidden), "dropout": dropout}
        layers: list[nn.Module] = []
        width = math.prod(in_shape)
        for h in hidden:
            layers += [nn.Linear(width, h), nn.LeakyReLU(0.2)]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1)).squeeze(1)
