"""Generator / discriminator families. Each model keeps its constructor
arguments in ``.config`` so a checkpoint rebuilds it from the file alone."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from latentrw.models.cnn import CNNDiscriminator, CNNGenerator
from latentrw.models.mlp import MLPDiscriminator, MLPGenerator
from latentrw.models.toy import ToyDiscriminator, ToyGenerator
from latentrw.registry import Registry


@dataclass(frozen=True)
class ModelFamily:
    generator: type[nn.Module]
    discriminator: type[nn.Module]
    kinds: tuple[str, ...]  # dataset kinds it fits: "image", "points"


MODELS: Registry[ModelFamily] = Registry("model")
MODELS.add("mlp", ModelFamily(MLPGenerator, MLPDiscriminator, ("image",)))
MODELS.add("cnn", ModelFamily(CNNGenerator, CNNDiscriminator, ("image",)))
MODELS.add("toy", ModelFamily(ToyGenerator, ToyDiscriminator, ("points",)))


def build(family: str, role: str, config: dict) -> nn.Module:
    """Rebuild a ``role`` ("generator" or "discriminator") of ``family`` from its config."""
    fam = MODELS.get(family)
    cls = {"generator": fam.generator, "discriminator": fam.discriminator}[role]
    return cls(**config)


__all__ = ["MODELS", "ModelFamily", "build"]
