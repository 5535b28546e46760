"""GAN objectives: a registry of loss pairs with each objective's literature defaults.

The one training loop (:mod:`latentrw.train`) reads everything it needs from an
:class:`Objective`; adding an objective is one ``OBJECTIVES.add`` here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor

from latentrw.objectives import losses
from latentrw.objectives.fgan import DIVERGENCES, fgan_d_loss, fgan_g_loss
from latentrw.objectives.penalties import clip_weights, gradient_penalty
from latentrw.registry import Registry


@dataclass(frozen=True)
class Objective:
    d_loss: Callable[[Tensor, Tensor], Tensor]  # minimised by D
    g_loss: Callable[[Tensor], Tensor]  # minimised by G
    optimizer: str  # "adam" or "rmsprop"
    lr_g: float
    lr_d: float
    betas: tuple[float, float] | None  # Adam only
    n_critic: int  # D steps per G step
    gp_weight: float = 0.0  # λ of the gradient penalty; 0 = none
    clip: float = 0.0  # weight clipping bound c; 0 = none
    source: str = ""  # where the defaults come from


OBJECTIVES: Registry[Objective] = Registry("objective")

OBJECTIVES.add("ns", Objective(
    losses.ns_d_loss, losses.ns_g_loss, "adam", 2e-4, 2e-4, (0.5, 0.999), 1,
    source="Goodfellow et al. 2014; Adam(2e-4, β=(0.5, 0.999)) of DCGAN, Radford et al. 2016 §4"))
OBJECTIVES.add("wgan", Objective(
    losses.wasserstein_d_loss, losses.wasserstein_g_loss, "rmsprop", 5e-5, 5e-5, None, 5, clip=0.01,
    source="Arjovsky et al. 2017, Algorithm 1: c=0.01, RMSProp lr 5e-5, n_critic 5"))
OBJECTIVES.add("wgan-gp", Objective(
    losses.wasserstein_d_loss, losses.wasserstein_g_loss, "adam", 1e-4, 1e-4, (0.5, 0.9), 5, gp_weight=10.0,
    source="Gulrajani et al. 2017: λ=10, lr 1e-4, n_critic 5 from Algorithm 1; β=(0.5, 0.9) from the "
           "authors' MNIST code (gan_mnist.py) -- Algorithm 1 itself lists β1=0"))
OBJECTIVES.add("hinge-gp", Objective(
    losses.hinge_d_loss, losses.hinge_g_loss, "adam", 1e-4, 1e-4, (0.5, 0.9), 1, gp_weight=10.0,
    source="hinge loss (Lim & Ye 2017) with the WGAN-GP penalty and optimiser above; n_critic 1 (ours): "
           "with 5 the critic outruns G, the fakes sit past the hinge margin where D gets no signal, "
           "and the cnn G stayed noise; with 1 it draws strokes after one epoch"))
for _div in DIVERGENCES:
    OBJECTIVES.add(f"fgan-{_div}", Objective(
        fgan_d_loss(_div), fgan_g_loss(_div), "adam", 2e-4, 2e-4, (0.5, 0.999), 1,
        source="Nowozin et al. 2016, Table 6 activations/conjugates, §3.2 generator objective; "
               "Adam(2e-4, β1=0.5) of their DCGAN-based experiments"))

__all__ = ["OBJECTIVES", "Objective", "clip_weights", "gradient_penalty"]
