import math

import pytest
import torch
from torch import nn

from latentrw.objectives import OBJECTIVES, gradient_penalty
from latentrw.objectives.fgan import DIVERGENCES, fgan_d_loss, fgan_g_loss
from latentrw.objectives.losses import hinge_d_loss, ns_d_loss, ns_g_loss, wasserstein_d_loss, wasserstein_g_loss
from latentrw.objectives.penalties import clip_weights

REAL = torch.tensor([2.0, 0.0])
FAKE = torch.tensor([-1.0, 0.5])


def sig(v):
    return 1 / (1 + math.exp(-v))


def test_ns_known_answer():
    # -mean log σ(real) - mean log(1 - σ(fake)), by hand
    expected = -(math.log(sig(2)) + math.log(sig(0))) / 2 - (math.log(1 - sig(-1)) + math.log(1 - sig(0.5))) / 2
    assert ns_d_loss(REAL, FAKE).item() == pytest.approx(expected, rel=1e-6)
    assert ns_g_loss(FAKE).item() == pytest.approx(-(math.log(sig(-1)) + math.log(sig(0.5))) / 2, rel=1e-6)


def test_wasserstein_and_hinge_known_answers():
    assert wasserstein_d_loss(REAL, FAKE).item() == pytest.approx(-0.25 - 1.0)  # mean fake - mean real
    assert wasserstein_g_loss(FAKE).item() == pytest.approx(0.25)
    # relu(1-2)=0, relu(1-0)=1 -> 0.5 ; relu(1-1)=0, relu(1+0.5)=1.5 -> 0.75
    assert hinge_d_loss(REAL, FAKE).item() == pytest.approx(1.25)
    assert OBJECTIVES.get("hinge-gp").g_loss(FAKE).item() == pytest.approx(0.25)


# Nowozin et al. 2016, Table 6, written naively: (g_f(v), f*(t)).
NAIVE = {
    "kl": (lambda v: v, lambda t: math.exp(t - 1)),
    "reverse-kl": (lambda v: -math.exp(-v), lambda t: -1 - math.log(-t)),
    "pearson": (lambda v: v, lambda t: t * t / 4 + t),
    "squared-hellinger": (lambda v: 1 - math.exp(-v), lambda t: t / (1 - t)),
    "js": (lambda v: math.log(2) - math.log(1 + math.exp(-v)), lambda t: -math.log(2 - math.exp(t))),
    "gan": (lambda v: -math.log(1 + math.exp(-v)), lambda t: -math.log(1 - math.exp(t))),
}


@pytest.mark.parametrize("name", sorted(DIVERGENCES))
def test_fgan_matches_nowozin_table(name):
    g_f, f_star = NAIVE[name]
    real, fake = [0.3, -0.7, 1.2], [-0.4, 0.9, 0.1]
    expected_d = -(sum(g_f(v) for v in real) / 3 - sum(f_star(g_f(v)) for v in fake) / 3)
    expected_g = -sum(g_f(v) for v in fake) / 3
    assert fgan_d_loss(name)(torch.tensor(real), torch.tensor(fake)).item() == pytest.approx(expected_d, rel=1e-5)
    assert fgan_g_loss(name)(torch.tensor(fake)).item() == pytest.approx(expected_g, rel=1e-5)


# f(1) of each generator function (Nowozin et al. Table 1): the bound's value when P = Q.
F_AT_1 = {"kl": 0.0, "reverse-kl": 0.0, "pearson": 0.0, "squared-hellinger": 0.0, "js": 0.0, "gan": -2 * math.log(2)}


@pytest.mark.parametrize("name", sorted(DIVERGENCES))
def test_fgan_bound_is_tight_when_p_equals_q(name):
    # With P = Q, maximising E_P[T] - E_Q[f*(T)] over a constant T gives f(1) (Fenchel duality),
    # so the minimised D loss must reach -f(1).
    v = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([v], lr=0.1)
    for _ in range(500):
        opt.zero_grad()
        loss = fgan_d_loss(name)(v.expand(4), v.expand(4))
        loss.backward()
        opt.step()
    assert loss.item() == pytest.approx(-F_AT_1[name], abs=1e-4)


def test_gradient_penalty_equals_definition_on_linear_critic():
    # D(x) = w.x + b has gradient w everywhere, so the penalty is (||w|| - 1)^2 exactly.
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Flatten(), nn.Linear(6, 1))
    w = critic[1].weight
    real, fake = torch.randn(8, 2, 3), torch.randn(8, 2, 3)
    gp, norm = gradient_penalty(critic, real, fake)
    assert gp.item() == pytest.approx((w.norm().item() - 1) ** 2, rel=1e-5)
    assert norm.item() == pytest.approx(w.norm().item(), rel=1e-5)
    # ... and it is differentiable w.r.t. the critic: d/dw (||w||-1)^2 = 2 (||w||-1) w/||w||
    (grad,) = torch.autograd.grad(gp, w)
    torch.testing.assert_close(grad, 2 * (w.norm() - 1) * w / w.norm())


def test_gradient_penalty_on_quadratic_critic_uses_interpolates():
    # D(x) = 0.5 ||x||^2 -> grad = x_hat, so the penalty is mean (||x_hat|| - 1)^2 at x_hat = e x + (1-e) x~.
    class Quad(nn.Module):
        def forward(self, x):
            return 0.5 * (x * x).sum(1)

    real, fake = torch.randn(16, 3), torch.randn(16, 3)
    g = torch.Generator().manual_seed(3)
    gp, _ = gradient_penalty(Quad(), real, fake, generator=g)
    eps = torch.rand(16, 1, generator=torch.Generator().manual_seed(3))
    x_hat = eps * real + (1 - eps) * fake
    assert gp.item() == pytest.approx(((x_hat.norm(dim=1) - 1) ** 2).mean().item(), rel=1e-5)


def test_clip_weights():
    net = nn.Linear(4, 4)
    nn.init.normal_(net.weight, std=5)
    clip_weights(net, 0.01)
    assert all(p.abs().max() <= 0.01 for p in net.parameters())


def test_objective_defaults_from_literature():
    assert OBJECTIVES.get("wgan").clip == 0.01 and OBJECTIVES.get("wgan").optimizer == "rmsprop"
    assert OBJECTIVES.get("wgan").lr_d == 5e-5 and OBJECTIVES.get("wgan").n_critic == 5
    gp = OBJECTIVES.get("wgan-gp")
    assert (gp.gp_weight, gp.lr_d, gp.betas, gp.n_critic) == (10.0, 1e-4, (0.5, 0.9), 5)
    hinge = OBJECTIVES.get("hinge-gp")  # n_critic 1: with 5 the cnn G stayed noise (README, Training)
    assert (hinge.gp_weight, hinge.lr_d, hinge.n_critic) == (10.0, 1e-4, 1)
    assert OBJECTIVES.get("ns").betas == (0.5, 0.999) and OBJECTIVES.get("ns").lr_g == 2e-4
    assert {f"fgan-{d}" for d in DIVERGENCES} <= set(OBJECTIVES.names())
    assert all(OBJECTIVES.get(n).source for n in OBJECTIVES)
