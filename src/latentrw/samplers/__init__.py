"""Post-hoc samplers under one contract (see :mod:`latentrw.samplers.base`)."""

from latentrw.samplers.base import SAMPLERS, BaseSampler, Cost, ProposalStream, SampleBatch, Sampler
from latentrw.samplers.latent import LatentRS

__all__ = ["SAMPLERS", "BaseSampler", "LatentRS", "Cost", "ProposalStream", "SampleBatch", "Sampler"]
