"""Post-hoc samplers under one contract (see :mod:`latentrw.samplers.base`)."""

from latentrw.samplers.base import SAMPLERS, BaseSampler, Cost, ProposalStream, SampleBatch, Sampler
from latentrw.samplers.latent import LatentGA, LatentRS, LatentRSGA, LatentSIR

__all__ = ["SAMPLERS", "BaseSampler", "LatentGA", "LatentRS", "LatentRSGA", "LatentSIR", "Cost", "ProposalStream", "SampleBatch", "Sampler"]
