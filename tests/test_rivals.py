"""Known-answer tests of the rival samplers on 1-D/2-D toys where the density ratio is exact.

G is the identity, so a sample is its latent; the prior N(0, I) is G's distribution and the
logit d(x) = log p_target(x) − log N(x; 0, I) is the exact density ratio.
"""

import math
from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from latentrw.errors import ConfigError
from latentrw.priors import GaussianPrior
from latentrw.samplers import DDLS, DOT, DRS, MHGAN, SIR, BaseSampler, DGflow, Truncation


class Logit(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def toy(d=1, D=None):
    return SimpleNamespace(G=nn.Identity(), D=D or Logit(lambda x: torch.zeros(len(x))), prior=GaussianPrior(d))


def g(seed):
    return torch.Generator().manual_seed(seed)


def narrower(sd):
    """log N(x; 0, sd²) − log N(x; 0, 1): a bounded ratio (max 1/sd at 0)."""
    return Logit(lambda x: (-0.5 * x.pow(2).sum(1) / sd ** 2 + 0.5 * x.pow(2).sum(1)) - math.log(sd))


def shifted(mu):
    """log N(x; mu, 1) − log N(x; 0, 1) = mu·x − mu²/2 (1-D)."""
    return Logit(lambda x: mu * x[:, 0] - mu ** 2 / 2)


def test_drs_with_gamma_zero_is_exact_rejection_sampling():
    x = DRS(narrower(0.8), gamma=0.0).fit(toy()).sample(20_000, generator=g(0)).x
    assert x.var().item() == pytest.approx(0.64, abs=0.03)  # the target's variance, not the proposal's 1
    assert abs(x.mean().item()) < 0.03


def test_drs_default_gamma_is_the_pilot_percentile_and_frozen():
    drs = DRS(narrower(0.8), percentile=80).fit(toy())
    assert 0 < drs.expected_acceptance_ < 1 and drs.d_max_ == pytest.approx(-math.log(0.8), abs=1e-3)
    again = DRS(narrower(0.8), percentile=80).fit(toy())
    assert (again.gamma_, again.d_max_) == (drs.gamma_, drs.d_max_)


@pytest.mark.parametrize("sampler", [SIR(shifted(0.5), k=100), MHGAN(shifted(0.5), k=100)])
def test_sir_and_mh_recover_a_shifted_target(sampler):
    real = torch.randn(5000, 1, generator=g(9)) + 0.5
    x = sampler.fit(toy(), real).sample(4000, generator=g(1)).x
    se = 1 / math.sqrt(4000)
    assert abs(x.mean().item() - 0.5) < 4 * se + 0.01  # SIR's O(1/k) bias is ≈ 0.003 here
    assert x.var().item() == pytest.approx(1.0, abs=0.1)
    base = BaseSampler().fit(toy()).sample(4000, generator=g(1)).x
    assert abs(base.mean().item()) < 4 * se  # the proposal itself is centred


def test_mh_never_returns_a_real_sample():
    # Real starts with a huge logit: no proposal is ever accepted from them, so every chain restarts.
    real = torch.full((100, 1), 50.0)
    batch = MHGAN(shifted(0.5), k=30).fit(toy(), real).sample(500, generator=g(2))
    assert (batch.x.abs() < 10).all()
    torch.testing.assert_close(batch.x, batch.z)  # every output is G of its latent
    assert batch.cost.proposals == 2 * 30 * 500  # K proposals, then K after the restart


def test_truncation_stays_within_psi():
    batch = Truncation(psi=0.5).fit(toy(d=8)).sample(3000, generator=g(3))
    assert batch.z.abs().max() <= 0.5 and batch.x.shape == (3000, 8)
    with pytest.raises(ValueError, match="psi"):
        Truncation(psi=0)


def test_ddls_with_zero_discriminator_leaves_the_prior_invariant():
    batch = DDLS(Logit(lambda x: torch.zeros(len(x))), steps=200).fit(toy(d=2)).sample(5000, generator=g(4))
    # Unadjusted Langevin on N(0, 1) with step ε keeps variance 1/(1 − ε/4) ≈ 1.0025
    torch.testing.assert_close(batch.z.var(0), torch.ones(2), atol=0.07, rtol=0)
    assert batch.z.mean(0).abs().max() < 0.06


def test_dgflow_with_zero_discriminator_is_pure_diffusion():
    eta, gamma, steps = 0.1, 0.01, 25
    flow = DGflow(Logit(lambda x: torch.zeros(len(x))), eta=eta, gamma=gamma, steps=steps).fit(toy(d=2))
    z_t = flow.sample(5000, generator=g(5)).z
    z_0 = BaseSampler().fit(toy(d=2)).sample(5000, generator=g(5)).z  # the same proposals
    diff = z_t - z_0
    torch.testing.assert_close(diff.var(0), torch.full((2,), 2 * eta * gamma * steps), rtol=0.08, atol=0)
    assert diff.mean(0).abs().max() < 4 * math.sqrt(2 * eta * gamma * steps / 5000)


def test_dgflow_and_ddls_move_toward_a_shifted_target():
    for sampler in (DGflow(shifted(1.0), steps=25), DDLS(shifted(1.0), steps=300)):
        x = sampler.fit(toy()).sample(3000, generator=g(6)).x
        assert x.mean().item() > 0.3, type(sampler).__name__


def test_dot_estimates_the_lipschitz_constant_and_climbs_a_steeper_critic():
    critic = Logit(lambda x: 2 * x[:, 0])  # linear, 2-Lipschitz
    dot = DOT(steps=20, project=False).fit(toy(d=2, D=critic))
    assert dot.k_eff_ == pytest.approx(2.0, rel=0.01)
    start = BaseSampler().fit(toy(d=2)).sample(2000, generator=g(7)).x
    # with the exact k_eff the objective is flat along the critic's gradient: no transport is optimal
    assert (dot.sample(2000, generator=g(7)).x - start).norm(dim=1).mean() < 0.05
    dot.k_eff_ = 1.0  # a critic twice as steep as k_eff: moving uphill lowers the objective without bound
    moved = dot.sample(2000, generator=g(7)).x
    assert (moved[:, 0] - start[:, 0]).mean() > 0.1  # Adam at lr 0.01 for 20 steps: at most 0.2


def test_invalid_parameters_are_clear_errors():
    d = shifted(0.5)
    for make, match in [(lambda: SIR(d, k=0), "k must"), (lambda: MHGAN(d, k=0), "k must"),
                        (lambda: DRS(d, percentile=120), "percentile"), (lambda: DDLS(d, step_size=0), "step_size"),
                        (lambda: DGflow(d, divergence="tv"), "divergence"), (lambda: DOT(lr=-1), "lr")]:
        with pytest.raises(ValueError, match=match):
            make()
    with pytest.raises(ValueError, match="real samples"):
        MHGAN(d).fit(toy())


class Linear1(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(1, 1)

    def forward(self, x):
        return self.fc(x).squeeze(1)


def test_calibration_recovers_the_exact_log_ratio():
    from latentrw.samplers.calibrate import CalibrationConfig, calibrate

    # G's samples N(0, 1), data N(0.5, 1): log p_data/p_G = 0.5·x − 0.125, linear, so a linear D can be exact
    torch.manual_seed(0)  # D's initial weights, independent of the tests run before
    models = toy(D=Linear1())
    before = models.D.fc.weight.detach().clone()
    real = torch.randn(20_000, 1, generator=g(11)) + 0.5
    cfg = CalibrationConfig(steps=600, batch_size=512, lr=2e-2, eval_every=200, heldout=10_000, eval_n=5000)
    logit, info = calibrate(models, real, cfg)
    d = logit(torch.tensor([[-1.0], [0.0], [1.0]])).detach()
    # the fitted slope and intercept, within ~3 standard errors of a 5,000-per-class logistic (Platt) fit
    assert (d[2] - d[0]).item() / 2 == pytest.approx(0.5, abs=0.06)
    assert d[1].item() == pytest.approx(-0.125, abs=0.05)
    assert [r["step"] for r in info["log"]] == [0, 200, 400, 600]
    assert info["platt"] == next(r["platt"] for r in info["log"] if r["step"] == info["chosen_step"])
    assert all(p is not models.D.fc.weight for p in logit.parameters())  # a copy: the run's D is untouched
    assert torch.equal(models.D.fc.weight, before)
    # select="last" keeps the plain fine-tuned classifier, whatever its held-out EMD
    _, last = calibrate(models, real, replace(cfg, steps=400, select="last"))
    assert last["chosen_step"] == 400 and last["platt"] == last["log"][-1]["platt"]
    with pytest.raises(ConfigError, match="select must be"):
        CalibrationConfig(select="best")


def test_cli_calibrate_then_every_rival(tmp_path):
    import json

    from click.testing import CliRunner
    from helpers import load_strict_json, tiny_trainer

    from latentrw.cli import main

    tiny_trainer(tmp_path / "r", n=80, objective="wgan-gp").fit()
    runner = CliRunner()
    out = runner.invoke(main, ["calibrate", str(tmp_path / "r"), "--steps", "30", "--batch-size", "32",
                               "--eval-every", "10", "--heldout", "500", "--quiet", "--device", "cpu"])
    assert out.exit_code == 0, out.output
    info = load_strict_json(tmp_path / "r" / "calibrated" / "calibration.json")
    assert info["log"][0]["step"] == 0 and info["log"][0]["bce"] is None
    assert info["config"]["gp_weight"] == json.loads((tmp_path / "r" / "config.json").read_text())["gp_weight"]
    for name, extra in [("drs", []), ("sir", ["--k", "4"]), ("mh-gan", ["--k", "8"]), ("truncation", ["--opt", "psi=0.5"]),
                        ("dot", ["--opt", "steps=3"]), ("ddls", ["--opt", "steps=3"]),
                        ("dgflow", ["--opt", "steps=3", "--opt", "divergence=js"])]:
        out = runner.invoke(main, ["sample", str(tmp_path / "r"), "--n", "50", "--sampler", name, *extra, "--out",
                                   str(tmp_path / name), "--device", "cpu"])
        assert out.exit_code == 0, (name, out.output)
    results = tmp_path / "results.jsonl"
    out = runner.invoke(main, ["evaluate", str(tmp_path / "r"), "--n", "200", "--metrics", "emd", "--no-floor",
                               "--sampler", "drs", "--opt", "gamma=-20", "--results", str(results), "--device", "cpu"])
    assert out.exit_code == 0, out.output
    rec = json.loads(results.read_text())
    assert rec["sampler"] == "drs" and rec["sampler_options"]["gamma"] == -20 and rec["cost"]["d_forward"] >= 1
    out = runner.invoke(main, ["sample", str(tmp_path / "r"), "--sampler", "truncation", "--opt", "gamma=1",
                               "--out", str(tmp_path / "x")])
    assert out.exit_code != 0 and "takes no option gamma" in out.output
    out = runner.invoke(main, ["sample", str(tmp_path / "r"), "--sampler", "sir", "--calibrated-dir", str(tmp_path),
                               "--out", str(tmp_path / "y")])
    assert out.exit_code != 0 and "latentrw calibrate" in out.output  # not calibrated: a clear error


def test_acceptance_histogram_splits_the_proposals_by_the_samplers_own_rule():
    from latentrw.acceptance import acceptance_histogram
    from latentrw.samplers.base import ProposalStream

    drs = DRS(narrower(0.8), gamma=0.0).fit(toy())  # accepts with exp(d − D*_M) exactly
    h, batch = acceptance_histogram(drs, 20_000, ProposalStream(GaussianPrior(1), g(3)), bins=20)
    assert len(batch.x) == 20_000
    acc, rej = torch.tensor(h["accepted"]), torch.tensor(h["rejected"])
    assert acc.sum() == 20_000 and (acc + rej).sum() == h["proposals"] and (rej >= 0).all()
    # Expected acceptance in each bin: the mean of exp(d − D*_M) over fresh proposals in that bin.
    d = narrower(0.8)(torch.randn(1_000_000, 1, generator=g(4))).double()
    edges = torch.tensor(h["edges"], dtype=torch.float64)
    idx = torch.bucketize(d, edges[1:-1])
    expected = torch.zeros(20, dtype=torch.float64).index_add_(0, idx, torch.exp(d - drs.d_max_))
    expected /= torch.bincount(idx, minlength=20).clamp(min=1)
    total = (acc + rej).double()
    busy = total > 300
    rate = acc[busy] / total[busy]
    se = (expected[busy] * (1 - expected[busy]) / total[busy]).sqrt()
    assert ((rate - expected[busy]).abs() < 4 * se + 0.01).all(), (rate, expected[busy])
    assert busy.sum() >= 5
    with pytest.raises(ValueError, match="not a selecting sampler"):
        acceptance_histogram(BaseSampler().fit(toy()), 10, ProposalStream(GaussianPrior(1), g(3)))
