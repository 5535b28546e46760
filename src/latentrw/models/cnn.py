"""The convolutional MNIST / Fashion-MNIST GAN of Issenhuth et al. (2022, §4.1).

G: linear z -> (4w, 7, 7), then blocks of nearest-neighbour upsampling + 3x3
conv + ReLU (7 -> 14 -> 28), a final 3x3 conv to one channel and tanh, with batch
norm before every hidden ReLU as in DCGAN (Radford et al. 2016). Without it this G
collapsed to all-black images within one epoch under ns and hinge-gp (pre-tanh
outputs near -16, so no gradient reached G again); samplers run G in eval mode, where
batch norm uses its running statistics and each sample is independent of its batch.
D mirrors it: 3x3 convs with LeakyReLU(0.2), stride 2 to go 28 -> 14 -> 7, and a
linear score. D has no batch norm, so gradient penalties stay per-sample.
"""

from __future__ import annotations

import torch
from torch import nn


class CNNGenerator(nn.Module):
    def __init__(self, z_dim: int = 100, width: int = 64, out_shape: tuple[int, ...] = (1, 28, 28)):
        super().__init__()
        if tuple(out_shape)[1:] != (28, 28):
            raise ValueError("the cnn generator makes 28x28 images")
        self.config = {"z_dim": z_dim, "width": width, "out_shape": list(out_shape)}
        self.z_dim, self.out_shape, self.width = z_dim, tuple(out_shape), width
        self.fc = nn.Sequential(nn.Linear(z_dim, 4 * width * 7 * 7), nn.BatchNorm1d(4 * width * 7 * 7), nn.ReLU())
        self.blocks = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(4 * width, 2 * width, 3, padding=1),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(),
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(2 * width, width, 3, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, out_shape[0], 3, padding=1),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.fc(z).view(z.shape[0], 4 * self.width, 7, 7))


class CNNDiscriminator(nn.Module):
    def __init__(self, in_shape: tuple[int, ...] = (1, 28, 28), width: int = 64):
        super().__init__()
        self.config = {"in_shape": list(in_shape), "width": width}
        self.net = nn.Sequential(
            nn.Conv2d(in_shape[0], width, 3, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * width, 4 * width, 3, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Flatten(),
            nn.Linear(4 * width * 7 * 7, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)
