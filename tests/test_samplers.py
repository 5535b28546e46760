"""Conformance suite: every registered sampler honours the contract of latentrw.samplers.base."""

import pytest
import torch

from latentrw.reweight import ReweightConfig, train_w
from latentrw.run import load_run
from latentrw.samplers import SAMPLERS
from latentrw.samplers.latent import solve_threshold

from helpers import tiny_points, tiny_trainer


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    path = tmp_path_factory.mktemp("run")
    tiny_trainer(path, n=80, objective="wgan-gp").fit()
    return load_run(path)


@pytest.fixture(scope="module")
def w(run):
    real = tiny_points(240).model_input("train")
    net, _ = train_w(run.G, run.D, run.prior, real, ReweightConfig(steps=30, n_d=1, batch_size=64, lr_w=1e-3))
    return net


def g(seed):
    return torch.Generator().manual_seed(seed)


def make(name, w, **kw):
    """Build any registered sampler; those of latent reweighting get the trained w."""
    return SAMPLERS.get(name)(w=w, **kw) if name.startswith("latent") else SAMPLERS.get(name)(**kw)


@pytest.mark.parametrize("name", SAMPLERS.names())
@pytest.mark.parametrize("n", [1, 999, 1001, 2500])
def test_returns_exactly_n_with_a_cost_record(run, w, name, n):
    batch = make(name, w).fit(run).sample(n, generator=g(0))
    assert batch.x.shape == (n, 2) and batch.z.shape == (n, 2)
    assert batch.cost.proposals >= n and batch.cost.g_forward >= n and batch.cost.seconds > 0
    per = batch.cost.per_sample(n)
    assert per["proposals"] >= 1 and per["ms"] > 0


@pytest.mark.parametrize("name", SAMPLERS.names())
def test_same_generator_same_samples_at_any_batch_size(run, w, name):
    a = make(name, w, batch_size=7).fit(run).sample(1500, generator=g(3))
    b = make(name, w, batch_size=1000).fit(run).sample(1500, generator=g(3))
    torch.testing.assert_close(a.x, b.x)
    assert torch.equal(a.z, b.z)
    c = make(name, w).fit(run).sample(1500, generator=g(4))
    assert not torch.equal(a.z, c.z)


@pytest.mark.parametrize("name", SAMPLERS.names())
def test_sampling_leaves_the_models_untouched(run, w, name):
    models = (run.G, run.D, run.prior, w)
    before = [{k: v.clone() for k, v in m.state_dict().items()} for m in models]
    make(name, w).fit(run).sample(300, generator=g(0))
    after = [m.state_dict() for m in models]
    assert all(torch.equal(b[k], a[k]) for b, a in zip(before, after) for k in b)


@pytest.mark.parametrize("name", SAMPLERS.names())
def test_sample_before_fit_is_a_clear_error(name, w):
    with pytest.raises(RuntimeError, match="call fit"):
        make(name, w).sample(3, generator=g(0))


def test_latent_rs_accepts_as_designed_and_runs_g_only_on_accepted(run, w):
    rs = make("latent-rs", w).fit(run)
    assert rs.c_ == pytest.approx(3 * rs.mean_w_)
    batch = rs.sample(3000, generator=g(0))
    assert batch.cost.g_forward == 3000  # G only on accepted latents
    rate = 3000 / batch.cost.proposals
    # proposals come in blocks of 1000, so the last block is partly unused: allow for it
    assert abs(rate - rs.expected_acceptance_) < 0.06
    assert batch.cost.w_forward == batch.cost.proposals
    torch.testing.assert_close(batch.scores["w"], w(batch.z).detach())


@pytest.mark.parametrize("a", [0.2, 0.5, 0.9])
def test_acceptance_dial(run, w, a):
    rs = make("latent-rs", w, acceptance=a).fit(run)
    assert rs.expected_acceptance_ == pytest.approx(a, abs=1e-3)
    batch = rs.sample(4000, generator=g(1))
    assert abs(4000 / batch.cost.proposals - a) < 0.1


def test_solve_threshold_and_bad_m():
    wz = torch.tensor([0.5, 1.0, 2.0, 4.0])
    c = solve_threshold(wz, 0.5)
    assert torch.clamp(wz / c, max=1).mean() == pytest.approx(0.5, abs=1e-6)
    with pytest.raises(ValueError, match="m must be > 0"):
        SAMPLERS.get("latent-rs")(w=None, m=0)
    with pytest.raises(ValueError, match="acceptance"):
        solve_threshold(wz, 0.0)


def test_base_is_the_generator_on_prior_latents(run):
    batch = SAMPLERS.get("base")().fit(run).sample(50, generator=g(0))
    torch.testing.assert_close(batch.x, run.G(batch.z).detach())
    assert batch.cost.g_forward == 50 and batch.cost.proposals == 50 and batch.cost.w_forward == 0
