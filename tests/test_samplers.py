"""Conformance suite: every registered sampler honours the contract of latentrw.samplers.base."""

import inspect
import math

import pytest
import torch
from helpers import TINY_W, tiny_points, tiny_trainer

from latentrw.priors import GaussianMixturePrior, UniformPrior
from latentrw.reweight import ReweightConfig
from latentrw.run import load_run
from latentrw.samplers import SAMPLERS
from latentrw.samplers.latent import latent_ascent, project, solve_threshold
from latentrw.w_trainer import train_w


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    path = tmp_path_factory.mktemp("run")
    tiny_trainer(path, n=80, objective="wgan-gp").fit()
    return load_run(path)


@pytest.fixture(scope="module")
def w(run):
    real = tiny_points(240).model_input("train")
    net, _ = train_w(run.G, run.D, run.prior, real, ReweightConfig(**TINY_W))
    return net


def g(seed):
    return torch.Generator().manual_seed(seed)


class BowlLogit(torch.nn.Module):
    """A fixed logit for the density-ratio samplers: d(x) = -0.1 ||x||^2 (favours the centre)."""

    def forward(self, x):
        return -0.1 * x.pow(2).sum(1)


# Short chains keep the suite fast; the defaults are exercised by the known-answer tests.
QUICK = {"mh-gan": {"k": 20}, "ddls": {"steps": 10}, "dgflow": {"steps": 5}, "dot": {"steps": 5}}


class Fitted:
    """``make(...).fit(run)`` with the real points MH-GAN starts its chains from."""

    def __init__(self, sampler):
        self.sampler = sampler

    def fit(self, run):
        return self.sampler.fit(run, tiny_points(240).model_input("train"))

    def __getattr__(self, name):
        return getattr(self.sampler, name)


def make(name, w, **kw):
    """Build any registered sampler: those of latent reweighting get the trained w, those of a
    density ratio a fixed logit."""
    cls = SAMPLERS.get(name)
    params = inspect.signature(cls).parameters
    kw = {**QUICK.get(name, {}), **kw}
    if "w" in params:
        kw["w"] = w
    if "disc" in params:
        kw["disc"] = BowlLogit()
    return Fitted(cls(**kw))


@pytest.mark.parametrize("name", SAMPLERS.names())
@pytest.mark.parametrize("n", [0, 1, 999, 1001, 2500])
def test_returns_exactly_n_with_a_cost_record(run, w, name, n):
    batch = make(name, w).fit(run).sample(n, generator=g(0))
    assert batch.x.shape == (n, 2) and batch.z.shape == (n, 2)
    if n == 0:
        return
    assert batch.cost.proposals >= n and batch.cost.g_forward >= n and batch.cost.seconds > 0
    per = batch.cost.per_sample(n)
    assert per["proposals"] >= 1 and per["ms"] > 0


@pytest.mark.parametrize("name", SAMPLERS.names())
def test_same_generator_same_samples_at_any_batch_size(run, w, name):
    a = make(name, w, batch_size=7).fit(run).sample(1500, generator=g(3))
    b = make(name, w, batch_size=1000).fit(run).sample(1500, generator=g(3))
    # equal up to float rounding: a matmul over 7 rows may round differently from one over 1000
    torch.testing.assert_close(a.x, b.x)
    torch.testing.assert_close(a.z, b.z)
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
    rate = 3000 / batch.cost.proposals  # proposals counted up to the 3000th acceptance
    assert abs(rate - rs.expected_acceptance_) < 4 * (rate * (1 - rate) / batch.cost.proposals) ** 0.5 + 0.01
    # w ran on whole blocks of 1000 proposals: the unused rest of the last one is counted there
    assert batch.cost.w_forward == -(-batch.cost.proposals // 1000) * 1000
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


class TiltW(torch.nn.Module):
    """A known w: exp(a·z_1), so w(z)p(z) ∝ N(a, 1) along z_1 for a Gaussian prior."""

    def __init__(self, z_dim: int, a: float = 1.0):
        super().__init__()
        self.config, self.a = {"z_dim": z_dim}, a

    def forward(self, z):
        return torch.exp(self.a * z[:, 0])


@pytest.mark.parametrize("mode,step", [("log", 1e-3), ("plain", 1e-2)])
def test_latent_ga_increases_w_monotonically(run, w, mode, step):
    z = run.prior.sample(200, g(0))
    values = [w(z)]
    for _ in range(20):
        z = latent_ascent(w, z, steps=1, step_size=step, mode=mode)
        values.append(w(z).detach())
    values = torch.stack(values)
    assert (values[1:] >= values[:-1] - 1e-6).float().mean() > 0.99  # a kink of the ReLU net may cost a hair
    assert (values[-1] > values[0]).float().mean() > 0.5


def test_latent_ga_log_steps_are_exactly_epsilon_and_projection_keeps_the_norm(run, w):
    z0 = run.prior.sample(100, g(1))
    z1 = latent_ascent(w, z0, steps=1, step_size=0.05, mode="log")
    torch.testing.assert_close((z1 - z0).norm(dim=1), torch.full((100,), 0.05))
    z5 = latent_ascent(w, z0, steps=5, step_size=0.3, mode="log", prior=run.prior)
    torch.testing.assert_close(z5.norm(dim=1), z0.norm(dim=1))
    cube = UniformPrior(2)
    assert torch.equal(project(torch.tensor([[1.5, -0.25]]), torch.zeros(1, 2), cube), torch.tensor([[1.0, -0.25]]))
    gm = type("M", (), {"prior": GaussianMixturePrior(2), "G": run.G, "D": run.D})()
    with pytest.raises(ValueError, match="no projection"):
        SAMPLERS.get("latent-ga")(w=w, project=True).fit(gm)
    assert SAMPLERS.get("latent-ga")(w=w).fit(gm).params()["project"] is False  # the default: where possible
    assert SAMPLERS.get("latent-ga")(w=w).fit(run).params()["project"] is True


def test_latent_rs_ga_ascends_only_the_accepted_latents(run, w):
    rs = make("latent-rs", w).fit(run).sample(500, generator=g(2))
    rsga = make("latent-rs-ga", w, steps=5, step_size=0.05).fit(run).sample(500, generator=g(2))
    torch.testing.assert_close(rsga.scores["w"], rs.scores["w"])  # same accepted latents...
    assert ((rsga.z - rs.z).norm(dim=1) > 0).all()  # ...then moved
    assert rsga.cost.g_forward == 500 and rsga.cost.w_backward == 5 * 500
    assert rsga.cost.proposals == rs.cost.proposals


def test_latent_sir_recovers_the_tilted_prior(run):
    # k = 200 proposals per sample: SIR's bias is O(1/k); the target along z_1 is N(0.5, 1)
    batch = SAMPLERS.get("latent-sir")(w=TiltW(2, 0.5), k=200).fit(run).sample(4000, generator=g(5))
    assert abs(float(batch.z[:, 0].mean()) - 0.5) < 0.08
    assert abs(float(batch.z[:, 1].mean())) < 0.08
    assert abs(float(batch.z[:, 0].std()) - 1.0) < 0.08
    assert batch.cost.proposals == batch.cost.w_forward == 4000 * 200 and batch.cost.g_forward == 4000


def test_latent_rs_recovers_the_tilted_prior(run):
    # w = exp(z_1/2) is unbounded, so cap it by choosing c high: c = 10 ⇒ clipping only beyond z_1 > 4.6
    rs = SAMPLERS.get("latent-rs")(w=TiltW(2, 0.5), acceptance=None, m=10 / math.exp(0.125))
    batch = rs.fit(run).sample(4000, generator=g(6))
    assert abs(float(batch.z[:, 0].mean()) - 0.5) < 0.08


@pytest.mark.parametrize("name", [n for n in SAMPLERS.names() if n.startswith("latent")])
def test_a_w_for_another_latent_space_is_a_clear_error(run, name):
    with pytest.raises(ValueError, match="3-d latents but the run's prior is 2-d"):
        make(name, TiltW(3)).fit(run)


@pytest.mark.parametrize("name,kw,match", [
    ("latent-ga", {"steps": -1}, "steps"), ("latent-ga", {"step_size": 0}, "step_size"),
    ("latent-ga", {"mode": "newton"}, "mode"), ("latent-sir", {"k": 0}, "k must"),
    ("latent-rs", {"acceptance": 1.5}, "acceptance"), ("latent-rs-ga", {"m": -1}, "m must")])
def test_invalid_parameters_are_clear_errors(w, name, kw, match):
    with pytest.raises(ValueError, match=match):
        make(name, w, **kw)


def test_latent_ga_default_step_is_one_percent_of_the_typical_norm(w):
    assert SAMPLERS.get("latent-ga")(w=w).step_size == pytest.approx(0.01 * 2 ** 0.5)
    assert SAMPLERS.get("latent-rs-ga")(w=TiltW(100)).params()["step_size"] == pytest.approx(0.1)


class Counted(torch.nn.Module):
    """Wraps a module and counts the rows it sees, forward and (under grad) for backward."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.config = inner, getattr(inner, "config", {})
        self.forward_rows = self.grad_rows = 0

    def forward(self, x):
        self.forward_rows += len(x)
        self.grad_rows += len(x) if torch.is_grad_enabled() and x.requires_grad else 0
        return self.inner(x)


@pytest.mark.parametrize("name", SAMPLERS.names())
def test_cost_counts_what_ran(run, w, name):
    from types import SimpleNamespace

    G, D, cw = Counted(run.G), Counted(run.D), Counted(w)
    models = SimpleNamespace(G=G, D=D, prior=run.prior)
    sampler = make(name, cw)
    disc = Counted(sampler.disc) if hasattr(sampler, "disc") else None
    if disc is not None:
        sampler.sampler.disc = disc
    sampler.fit(models)
    for m in (G, D, cw) + ((disc,) if disc is not None else ()):
        m.forward_rows = m.grad_rows = 0  # what fit() cost is not part of sampling
    cost = sampler.sample(1200, generator=g(5)).cost
    d_rows = D.forward_rows + (disc.forward_rows if disc is not None else 0)
    d_grad = D.grad_rows + (disc.grad_rows if disc is not None else 0)
    assert (cost.g_forward, cost.g_backward) == (G.forward_rows, G.grad_rows)
    assert (cost.d_forward, cost.d_backward) == (d_rows, d_grad)
    assert (cost.w_forward, cost.w_backward) == (cw.forward_rows, cw.grad_rows)


def test_rejection_samplers_stop_with_a_clear_error_when_they_accept_almost_nothing(run, w):
    """latentRS at a tiny acceptance and DRS at a huge gamma would loop for hours: both stop after
    1,000 proposals per requested sample and say how many they accepted and what to change."""
    from latentrw.errors import SamplingError

    rs = SAMPLERS.get("latent-rs")(w=w, acceptance=1e-6).fit(run)
    with pytest.raises(SamplingError, match=r"latent-rs: \d+ of 5,000 proposals accepted.*--acceptance"):
        rs.sample(5, generator=g(0))
    drs = SAMPLERS.get("drs")(disc=BowlLogit(), gamma=80.0).fit(run)
    with pytest.raises(SamplingError, match=r"drs: 0 of 5,000 proposals accepted.*gamma"):
        drs.sample(5, generator=g(0))
