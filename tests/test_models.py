import math

import pytest
import torch

from latentrw.checkpoint import save_module
from latentrw.models import MODELS, build
from latentrw.priors import GaussianMixturePrior, GaussianPrior, UniformPrior, build_prior
from latentrw.run import load_model_file


@pytest.mark.parametrize("family, g_kw, d_kw, out", [
    ("mlp", {}, {"dropout": 0.3}, (1, 28, 28)),
    ("cnn", {"width": 4}, {"width": 4}, (1, 28, 28)),
    ("toy", {}, {}, (2,)),
])
def test_shapes_and_rebuild_from_file(tmp_path, family, g_kw, d_kw, out):
    fam = MODELS.get(family)
    G = fam.generator(z_dim=7, out_shape=out, **g_kw)
    D = fam.discriminator(in_shape=out, **d_kw).eval()
    z = torch.randn(5, 7)
    x = G(z)
    assert x.shape == (5, *out)
    assert D(x).shape == (5,)
    if family != "toy":
        assert x.min() >= -1 and x.max() <= 1  # tanh output
    save_module(tmp_path / "G.safetensors", G, {"family": family, "role": "generator", "config": G.config, "step": 0})
    G2, head = load_model_file(tmp_path / "G.safetensors")
    torch.testing.assert_close(G2(z), x)
    D2 = build(family, "discriminator", D.config).eval()
    D2.load_state_dict(D.state_dict())
    torch.testing.assert_close(D2(x), D(x))


def test_mlp_is_the_course_architecture():
    G, D = MODELS.get("mlp").generator(), MODELS.get("mlp").discriminator()
    widths = [m.out_features for m in G.net if isinstance(m, torch.nn.Linear)]
    assert widths == [256, 512, 1024, 784]
    assert [m.out_features for m in D.net if isinstance(m, torch.nn.Linear)] == [1024, 512, 256, 1]
    assert isinstance(G.net[-1], torch.nn.Tanh)
    assert all(m.negative_slope == 0.2 for m in G.net if isinstance(m, torch.nn.LeakyReLU))


def test_gaussian_and_uniform_priors():
    g = torch.Generator().manual_seed(0)
    z = GaussianPrior(3).sample(20000, g)
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02
    ref = torch.distributions.Normal(0, 1).log_prob(z[:5]).sum(1)
    torch.testing.assert_close(GaussianPrior(3).log_prob(z[:5]), ref)
    u = UniformPrior(3).sample(20000, g)
    assert u.min() >= -1 and u.max() <= 1 and abs(u.mean()) < 0.02
    lp = UniformPrior(3).log_prob(torch.tensor([[0.0, 0.5, -0.9], [0.0, 1.5, 0.0]])).tolist()
    assert lp[0] == pytest.approx(-3 * math.log(2)) and lp[1] == -math.inf


def test_gm_prior_log_prob_matches_torch_distributions_and_samples_are_reparameterised():
    p = GaussianMixturePrior(4, n_components=3, init_scale=0.5)
    mix = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(torch.ones(3)),
        torch.distributions.Independent(torch.distributions.Normal(p.means, p.scales), 1))
    z = p.sample(50, torch.Generator().manual_seed(1))
    torch.testing.assert_close(p.log_prob(z), mix.log_prob(z))
    z.sum().backward()
    assert p.means.grad is not None and p.rho.grad is not None
    assert p.scales.min() >= 0.01  # floor
    rebuilt = build_prior("gm-static", GaussianMixturePrior(4, learnable=False).config)
    assert not list(rebuilt.parameters()) and torch.equal(rebuilt.means, GaussianMixturePrior(4).means.detach())


def test_cnn_generator_in_eval_mode_makes_each_sample_alone():
    """The cnn G has batch norm (DCGAN); in eval mode, as samplers run it, a sample must not
    depend on the rest of its batch."""
    from latentrw.models.cnn import CNNGenerator

    G = CNNGenerator(8, width=4)
    z = torch.randn(5, 8)
    G.train()
    with torch.no_grad():
        assert not torch.allclose(G(z)[:2], G(z[:2]), atol=1e-4)  # training: batch statistics (batch norm)
    G(torch.randn(16, 8))  # move the running statistics off their initial values
    G.eval()
    with torch.no_grad():
        assert torch.allclose(G(z)[:1], G(z[:1]), atol=1e-6)
