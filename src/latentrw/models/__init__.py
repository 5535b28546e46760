"""Generator / discriminator families. Each model keeps its constructor
arguments in ``.config`` so a checkpoint rebuilds it from the file alone."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from latentrw.models.cnn import CNNDiscriminator, CNNGenerator
from latentrw.models.mlp import MLPDiscriminator, MLPGenerator
from latentrw.models.plugin import build_plugin
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
PLUGIN = "plugin"  # not a registered family: its models come from outside (models/plugin.py)


def build(family: str, role: str, config: dict) -> nn.Module:
    """Rebuild a ``role`` ("generator" or "discriminator") of ``family`` from its config
    (family ``plugin``: a trusted outside factory, :mod:`latentrw.models.plugin`)."""
    if family == PLUGIN:
        return build_plugin(config)
    fam = MODELS.get(family)
    cls = {"generator": fam.generator, "discriminator": fam.discriminator}[role]
    return cls(**config)


__all__ = ["MODELS", "PLUGIN", "ModelFamily", "build"]
