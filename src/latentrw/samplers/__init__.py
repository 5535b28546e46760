"""Post-hoc samplers under one contract (see :mod:`latentrw.samplers.base`)."""

from latentrw.samplers.base import SAMPLERS, BaseSampler, Cost, ProposalStream, SampleBatch, Sampler
from latentrw.samplers.ddls import DDLS
from latentrw.samplers.dgflow import DGflow
from latentrw.samplers.dot import DOT
from latentrw.samplers.drs import DRS
from latentrw.samplers.latent import LatentGA, LatentRS, LatentRSGA, LatentSIR
from latentrw.samplers.mh import MHGAN
from latentrw.samplers.sir import SIR
from latentrw.samplers.truncation import Truncation

__all__ = ["SAMPLERS", "BaseSampler", "Cost", "DDLS", "DGflow", "DOT", "DRS", "LatentGA", "LatentRS", "LatentRSGA",
           "LatentSIR", "MHGAN", "ProposalStream", "SIR", "SampleBatch", "Sampler", "Truncation"]
