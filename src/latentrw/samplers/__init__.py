"""Post-hoc samplers under one contract (see :mod:`latentrw.samplers.base`)."""

from latentrw.samplers.base import SAMPLERS, BaseSampler, Cost, ProposalStream, SampleBatch, Sampler

__all__ = ["SAMPLERS", "BaseSampler", "Cost", "ProposalStream", "SampleBatch", "Sampler"]
