"""Conformance suite: every registered sampler honours the contract of latentrw.samplers.base."""

import pytest
import torch

from latentrw.run import load_run
from latentrw.samplers import SAMPLERS

from helpers import tiny_trainer


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    path = tmp_path_factory.mktemp("run")
    tiny_trainer(path, n=80, objective="wgan-gp").fit()
    return load_run(path)


def g(seed):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", SAMPLERS.names())
@pytest.mark.parametrize("n", [1, 999, 1001, 2500])
def test_returns_exactly_n_with_a_cost_record(run, name, n):
    batch = SAMPLERS.get(name)().fit(run).sample(n, generator=g(0))
    assert batch.x.shape == (n, 2) and batch.z.shape == (n, 2)
    assert batch.cost.proposals >= n and batch.cost.g_forward >= n and batch.cost.seconds > 0
    per = batch.cost.per_sample(n)
    assert per["proposals"] >= 1 and per["ms"] > 0


@pytest.mark.parametrize("name", SAMPLERS.names())
def test_same_generator_same_samples_at_any_batch_size(run, name):
    a = SAMPLERS.get(name)(batch_size=7).fit(run).sample(1500, generator=g(3))
    b = SAMPLERS.get(name)(batch_size=1000).fit(run).sample(1500, generator=g(3))
    torch.testing.assert_close(a.x, b.x)
    assert torch.equal(a.z, b.z)
    c = SAMPLERS.get(name)().fit(run).sample(1500, generator=g(4))
    assert not torch.equal(a.z, c.z)


@pytest.mark.parametrize("name", SAMPLERS.names())
def test_sampling_leaves_the_models_untouched(run, name):
    before = {k: v.clone() for m in (run.G, run.D, run.prior) for k, v in m.state_dict().items()}
    SAMPLERS.get(name)().fit(run).sample(300, generator=g(0))
    after = {k: v for m in (run.G, run.D, run.prior) for k, v in m.state_dict().items()}
    assert all(torch.equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize("name", SAMPLERS.names())
def test_sample_before_fit_is_a_clear_error(name):
    with pytest.raises(RuntimeError, match="call fit"):
        SAMPLERS.get(name)().sample(3, generator=g(0))


def test_base_is_the_generator_on_prior_latents(run):
    batch = SAMPLERS.get("base")().fit(run).sample(50, generator=g(0))
    torch.testing.assert_close(batch.x, run.G(batch.z).detach())
    assert batch.cost.g_forward == 50 and batch.cost.proposals == 50 and batch.cost.w_forward == 0
