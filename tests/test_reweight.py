import dataclasses
import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import tiny_points, tiny_trainer
from scipy.stats import spearmanr
from torch import nn

from latentrw.errors import ConfigError, TrainingDiverged
from latentrw.priors import GaussianPrior
from latentrw.reweight import ReweightConfig, WNetwork, critic_loss, eq6_ascent, eq6_optimum, w_loss
from latentrw.run import load_run
from latentrw.w_trainer import WTrainer, train_w


class FirstCoordinate(nn.Module):
    """A fixed, known critic: D(x) = x_0."""

    def forward(self, x):
        return x[:, 0]


def test_w_starts_at_one_and_can_exceed_m():
    w = WNetwork(5)
    assert w.config == {"z_dim": 5, "depth": 4, "width": 64, "m": 3.0}
    assert WNetwork(100).config["width"] == 400  # 4·d for image latents
    assert sum(isinstance(m, nn.Linear) for m in w.net) == 4
    out = w(torch.randn(1000, 5))
    assert (out - 1).abs().max() < 0.01
    with torch.no_grad():
        w.net[-1].bias.fill_(10.0)
    assert w(torch.randn(3, 5)).min() > 3  # softplus, not a sigmoid capped at 1


def test_w_loss_terms_and_sign():
    w = torch.tensor([1.0, 1.0, 1.0, 1.0], requires_grad=True)
    d = torch.tensor([0.0, 1.0, 2.0, 5.0])
    loss, terms = w_loss(w, d, m=3, lambda1=10, lambda2=3)
    # slope = d - min = [0, 1, 2, 5], scale = 2 -> reward = mean(w * slope / 2) = 1
    assert terms["reward"] == pytest.approx(1.0) and terms["mean_penalty"] == 0 and terms["cap_penalty"] == 0
    loss.backward()
    # Descent on the loss must raise w where D is larger (the paper's listing, taken literally, would lower it).
    assert torch.all(torch.diff(-w.grad) > 0)
    _, terms = w_loss(torch.tensor([4.0, 0.0]), torch.tensor([1.0, 2.0]), m=3, lambda1=10, lambda2=3)
    assert terms["mean_penalty"] == pytest.approx(1.0) and terms["cap_penalty"] == pytest.approx(0.5)
    assert terms["frac_above_m"] == pytest.approx(0.5)


def test_sign_on_a_known_critic():
    # G = identity on a 2-D Gaussian prior and a fixed critic D(x) = x_0: w must grow with z_0.
    prior = GaussianPrior(2)
    real = torch.randn(512, 2)
    log = []
    cfg = ReweightConfig(trainer="algorithm1", steps=300, n_d=0, batch_size=256, lr_w=1e-3, warmup=50)
    w, _ = train_w(nn.Identity(), FirstCoordinate(), prior, real, cfg, on_step=lambda s, t: log.append(t))
    z = prior.sample(4000, torch.Generator().manual_seed(1))
    with torch.no_grad():
        wz = w(z)
    rho = spearmanr(wz.numpy(), z[:, 0].numpy()).statistic
    assert rho > 0.5
    assert abs(wz.mean().item() - 1) < 0.2
    assert len(log) == 300 and {"mean_w", "frac_above_m", "mean_slope", "critic_loss"} <= set(log[-1])


@pytest.mark.parametrize("cfg", [ReweightConfig(trainer="algorithm1", steps=5, n_d=2, batch_size=32),
                                 ReweightConfig(rounds=2, critic_steps=2, w_steps=5, bank=200, batch_size=32)])
def test_critic_steps_run_and_models_stay_frozen(cfg):
    prior = GaussianPrior(2)
    G = nn.Linear(2, 2)
    D = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1), nn.Flatten(0))
    g_before = {k: v.clone() for k, v in G.state_dict().items()}
    d_before = {k: v.clone() for k, v in D.state_dict().items()}
    with pytest.warns(UserWarning, match="fitting steps"):  # a budget this small warns
        w, critic = train_w(G, D, prior, torch.randn(256, 2) + 1, cfg)
    assert all(torch.equal(g_before[k], v) for k, v in G.state_dict().items())
    assert all(torch.equal(d_before[k], v) for k, v in D.state_dict().items())  # the critic is a copy
    assert any(not torch.equal(d_before[k], v) for k, v in critic.state_dict().items())


def test_mean_w_leaving_its_range_stops_training():
    class Huge(nn.Module):
        def forward(self, x):
            return 1e3 * x[:, 0]

    cfg = ReweightConfig(trainer="algorithm1", steps=400, n_d=0, batch_size=64, lr_w=5e-2, lambda1=0.0, lambda2=0.0,
                         warmup=10)
    with pytest.raises(TrainingDiverged, match="left \\[0.5, 2\\]"):
        train_w(nn.Identity(), Huge(), GaussianPrior(2), torch.randn(64, 2), cfg)


class Crash(Exception):
    pass


@pytest.mark.parametrize("cfg,at", [(ReweightConfig(trainer="algorithm1", steps=40, n_d=2, batch_size=32, warmup=1000), 25),
                                    (ReweightConfig(rounds=4, critic_steps=3, w_steps=60, bank=300, batch_size=32,
                                                    average=0), 3),
                                    (ReweightConfig(rounds=4, critic_steps=3, w_steps=60, bank=300, batch_size=32,
                                                    average=2), 3),
                                    (ReweightConfig(rounds=4, critic_steps=3, w_steps=60, bank=300, batch_size=32,
                                                    refresh=False, exact=True), 2)])
def test_w_training_resumes_to_identical_weights(tmp_path, cfg, at):
    from latentrw.reweight import load_w

    G = nn.Linear(2, 2)
    D = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 1), nn.Flatten(0))
    real = torch.randn(256, 2) + 1
    every = 10 if cfg.trainer == "algorithm1" else 1
    ref_w, ref_critic = WTrainer(G, D, GaussianPrior(2), real, cfg, tmp_path / "ref", checkpoint_every=every).fit()

    def crash(step, terms):
        if step == at:
            raise Crash

    with pytest.raises(Crash):
        WTrainer(G, D, GaussianPrior(2), real, cfg, tmp_path / "run", checkpoint_every=every, log_every=1,
                 on_step=crash).fit()
    w, critic = WTrainer(G, D, GaussianPrior(2), real, cfg, tmp_path / "run", checkpoint_every=every).fit()
    for a, b in ((w, ref_w), (critic, ref_critic)):
        for (k, v1), v2 in zip(a.state_dict().items(), b.state_dict().values()):
            assert torch.equal(v1, v2), k
    loaded = load_w(tmp_path / "run")
    z = torch.randn(5, 2)
    torch.testing.assert_close(loaded(z), w(z))
    with pytest.raises(Exception, match="another config"):
        WTrainer(G, D, GaussianPrior(2), real, dataclasses.replace(cfg, m=5), tmp_path / "run").fit()


def test_a_training_continues_whatever_the_other_trainers_fields_hold(tmp_path):
    """An Algorithm 1 folder written under other bank defaults still continues with a larger budget;
    a change of a field Algorithm 1 reads is still refused."""
    G, D, real = nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1)), torch.randn(256, 2) + 1
    cfg = ReweightConfig(trainer="algorithm1", steps=3, n_d=1, batch_size=16, warmup=1000)
    WTrainer(G, D, GaussianPrior(2), real, cfg, tmp_path / "w").fit()
    saved = json.loads((tmp_path / "w" / "config.json").read_text())
    (tmp_path / "w" / "config.json").write_text(json.dumps(saved | {"rounds": 20, "critic_steps": 50, "average": 0}))
    more = dataclasses.replace(cfg, steps=5)
    WTrainer(G, D, GaussianPrior(2), real, more, tmp_path / "w").fit()
    assert json.loads((tmp_path / "w" / "config.json").read_text())["steps"] == 5
    with pytest.raises(Exception, match="another config"):
        WTrainer(G, D, GaussianPrior(2), real, dataclasses.replace(more, steps=6, n_d=2), tmp_path / "w").fit()


def test_polish_rounds_end_a_training_so_more_rounds_do_not_continue_it(tmp_path):
    """Without polish a larger budget continues a bank training; with polish rounds, which end it,
    more rounds would put them in the middle: refused. So is polish beyond the rounds."""
    G, D, real = nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1)), torch.randn(256, 2) + 1
    cfg = ReweightConfig(rounds=2, critic_steps=1, w_steps=2, bank=200, w_batch=32, batch_size=16)
    WTrainer(G, D, GaussianPrior(2), real, cfg, tmp_path / "plain").fit()
    WTrainer(G, D, GaussianPrior(2), real, dataclasses.replace(cfg, rounds=3), tmp_path / "plain").fit()
    polished = dataclasses.replace(cfg, polish=1)
    WTrainer(G, D, GaussianPrior(2), real, polished, tmp_path / "polished").fit()
    with pytest.raises(ConfigError, match="another config"):
        WTrainer(G, D, GaussianPrior(2), real, dataclasses.replace(polished, rounds=3), tmp_path / "polished").fit()
    with pytest.raises(ConfigError, match="polish must be in"):
        ReweightConfig(rounds=2, polish=3)
    with pytest.raises(ConfigError, match="d_weight finite"):
        ReweightConfig(d_weight=float("nan"))


def test_cli_reweight_then_latent_rs(tmp_path):
    import numpy as np
    from click.testing import CliRunner

    from latentrw.cli import main

    tiny_trainer(tmp_path / "r", n=80).fit()
    runner = CliRunner()
    out = runner.invoke(main, ["reweight", str(tmp_path / "r"), "--rounds", "3", "--critic-steps", "5", "--w-steps",
                               "100", "--bank", "1000", "--batch-size", "32", "--quiet", "--device", "cpu"])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "r" / "reweight" / "w.safetensors").is_file()
    run_gp = json.loads((tmp_path / "r" / "config.json").read_text())["gp_weight"]
    assert json.loads((tmp_path / "r" / "reweight" / "config.json").read_text())["gp_weight"] == (run_gp or 10.0)
    assert {p.name for p in (tmp_path / "r" / "reweight" / "figures").iterdir()} == {"w_histogram.png", "fig2_2d.png"}
    out = runner.invoke(main, ["sample", str(tmp_path / "r"), "--n", "100", "--sampler", "latent-rs", "--out",
                               str(tmp_path / "s"), "--device", "cpu"])
    assert out.exit_code == 0, out.output
    assert np.load(tmp_path / "s" / "samples.npz")["x"].shape == (100, 2) and "proposals_per_sample" in out.output
    out = runner.invoke(main, ["sample", str(tmp_path / "r"), "--sampler", "latent-rs", "--w-dir", str(tmp_path),
                               "--out", str(tmp_path / "s2")])
    assert out.exit_code != 0 and "w.safetensors" in out.output  # missing w: a clear error
    for name, extra in [("latent-ga", ["--ga-steps", "3", "--ga-mode", "plain"]), ("latent-rs-ga", []),
                        ("latent-sir", ["--k", "4"])]:
        out = runner.invoke(main, ["sample", str(tmp_path / "r"), "--n", "50", "--sampler", name, *extra, "--out",
                                   str(tmp_path / name), "--device", "cpu"])
        assert out.exit_code == 0, out.output
    out = runner.invoke(main, ["sample", str(tmp_path / "r"), "--sampler", "latent-rs", "--k", "4", "--out",
                               str(tmp_path / "s3")])
    assert out.exit_code != 0 and "takes no option k" in out.output
    results = tmp_path / "results.jsonl"
    out = runner.invoke(main, ["evaluate", str(tmp_path / "r"), "--n", "200", "--metrics", "emd", "--no-floor",
                               "--sampler", "latent-rs", "--acceptance", "0.5", "--results", str(results),
                               "--device", "cpu"])
    assert out.exit_code == 0, out.output
    rec = json.loads(results.read_text())
    assert rec["sampler"] == "latent-rs" and rec["sampler_options"]["acceptance"] == 0.5
    assert rec["cost"]["g_forward"] == 1.0 and 1.5 < rec["cost"]["proposals"] < 2.7  # about 1/0.5 proposals


def test_critic_loss_ignores_the_critics_level_whatever_e_w():
    d_real, d_fake = torch.randn(64), torch.randn(64)
    w = 1.2 + torch.rand(64)  # E w far from 1
    base = critic_loss(d_real, d_fake, w)
    # a constant shift of the critic must not change its objective, or its level drifts without bound
    torch.testing.assert_close(critic_loss(d_real - 50, d_fake - 50, w), base)
    torch.testing.assert_close(critic_loss(d_real, d_fake, 3 * w), base)  # only w's shape matters
    torch.testing.assert_close(critic_loss(d_real, d_fake, torch.ones(64)), d_fake.mean() - d_real.mean())


def test_the_critics_learning_rate_is_the_trainers_own_unless_set(tmp_path):
    """Unset, lr_d is 3e-5 for the bank trainer and 1e-4 for Algorithm 1, also after a change of
    trainer; the optimiser uses it and the saved config names the rate, so a resumed or compared
    config never depends on a default."""
    from latentrw.retrain import recipe_fingerprint

    bank = ReweightConfig()
    assert (bank.critic_lr, dataclasses.replace(bank, trainer="algorithm1").critic_lr) == (3e-5, 1e-4)
    assert ReweightConfig(trainer="algorithm1", lr_d=2e-4).critic_lr == 2e-4
    assert bank.to_dict()["lr_d"] == 3e-5 and ReweightConfig.from_dict(bank.to_dict()) == ReweightConfig(lr_d=3e-5)
    assert recipe_fingerprint({}, {})["w"]["lr_d"] == 3e-5
    assert recipe_fingerprint({"trainer": "algorithm1"}, {})["w"]["lr_d"] == 1e-4
    G, D, real = nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1)), torch.randn(256, 2)
    trainer = WTrainer(G, D, GaussianPrior(2), real, ReweightConfig(rounds=1, w_steps=1, bank=100), tmp_path / "w")
    assert trainer.opt_d.param_groups[0]["lr"] == 3e-5
    with pytest.warns(UserWarning, match="fitting steps"):
        trainer.fit()
    assert json.loads((tmp_path / "w" / "config.json").read_text())["lr_d"] == 3e-5


def test_critic_penalty_defaults_to_the_runs_own():
    from latentrw.config import TrainConfig
    from latentrw.reweight import critic_gp_weight

    toy = TrainConfig(dataset="swissroll", model="toy", objective="wgan-gp", gp_weight=0.1).resolve("points")
    assert critic_gp_weight(toy) == 0.1
    assert critic_gp_weight(TrainConfig(dataset="mnist", objective="ns").resolve("image")) == 10.0  # no penalty: 10
    assert critic_gp_weight(TrainConfig(dataset="mnist", objective="hinge-gp").resolve("image")) == 10.0


def test_w_learnability_script_fits_a_smooth_critic(tmp_path, monkeypatch, capsys):
    """experiments/w_learnability.py on a tiny 2-D run: the w-shaped regression ranks latents by the
    critic almost perfectly (a smooth 2-D function), and every line of the report is printed."""
    tiny_trainer(tmp_path / "run").fit()
    run = load_run(tmp_path / "run")
    WTrainer(run.G, run.D, run.prior, tiny_points().x_train,
             ReweightConfig(trainer="algorithm1", steps=5, n_d=1, batch_size=16), tmp_path / "run" / "reweight").fit()
    script = Path(__file__).resolve().parents[1] / "experiments" / "w_learnability.py"
    monkeypatch.setattr(sys, "argv", [str(script), str(tmp_path / "run"), str(tmp_path / "run" / "reweight"),
                                      "--n-train", "2000", "--n-test", "500", "--steps", "400"])
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    fit = float(out.split("w-shaped fit")[1].split("Spearman ")[1].split()[0])
    assert fit > 0.9, out
    assert "trained w: Spearman" in out and "last w iterate: Spearman" in out and "best response" in out


def test_w_learnability_script_ranks_a_d_weight_w_against_its_reward(tmp_path, monkeypatch, capsys):
    """With ``d_weight`` the script also ranks w against the reward it was trained on (the critic's
    and the run's D's standardised scores) and the best response against the critic alone."""
    tiny_trainer(tmp_path / "run").fit()
    run = load_run(tmp_path / "run")
    WTrainer(run.G, run.D, run.prior, tiny_points().x_train,
             ReweightConfig(rounds=2, critic_steps=1, w_steps=5, bank=200, d_weight=3), tmp_path / "w").fit()
    script = Path(__file__).resolve().parents[1] / "experiments" / "w_learnability.py"
    monkeypatch.setattr(sys, "argv", [str(script), str(tmp_path / "run"), str(tmp_path / "w"),
                                      "--n-train", "500", "--n-test", "500", "--steps", "5"])
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    assert "with its reward, c(z) + 3 D(G(z))" in out and "the same best response: Spearman with c(z)" in out, out


def test_best_response_ceiling_follows_one_minus_p_cubed():
    """w_learnability's ceiling on a known answer: for a critic whose scores are uniform, Eq. 6's
    best response puts a share p of the latents at the floor (about 1 − 1/m: w* ≥ m above it and
    E w* ≈ 1; the mean penalty is soft, so a little less), and ranks like the critic
    at 1 − p³ with the floor in random order, √(1 − p³) with it tied (integrals over uniform ranks)."""
    script = Path(__file__).resolve().parents[1] / "experiments" / "w_learnability.py"
    best_response = runpy.run_path(str(script))["best_response"]
    c = torch.rand(40_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    p, tied, shuffled = best_response(c, ReweightConfig())
    got = {"p": p, "tied": spearmanr(tied, c).statistic, "random": spearmanr(shuffled, c).statistic}
    assert 0.6 < got["p"] < 0.7
    assert got["random"] == pytest.approx(1 - got["p"] ** 3, abs=0.01)
    assert got["tied"] == pytest.approx((1 - got["p"] ** 3) ** 0.5, abs=0.01)


def test_w_optimum_2d_known_answers():
    """experiments/w_optimum_2d.py's partial-OT weights on a hand-solved case: two generated points, one
    on the only real point and one far away; with cap m = 2 (all mass may sit on one of two points)
    the optimum puts everything on the near one and reaches EMD 0, and latentRS with w ≡ 1 gives the
    plain EMD (mean distance 5)."""
    script = Path(__file__).resolve().parents[1] / "experiments" / "w_optimum_2d.py"
    mod = runpy.run_path(str(script))
    x = np.array([[0.0, 0.0], [10.0, 0.0]])
    real = np.array([[0.0, 0.0]])
    w, emd = mod["optimal_weights"](x, real, 2.0)
    np.testing.assert_allclose(w, [2.0, 0.0], atol=1e-9)
    assert emd == pytest.approx(0.0, abs=1e-9)
    assert mod["latent_rs_emd"](np.ones(2), x, real, 3.0) == pytest.approx(5.0)
    # w/(m·mean w) = 2/3 and 0: all accepted mass on the near point
    assert mod["latent_rs_emd"](np.array([2.0, 0.0]), x, real, 2.0) == pytest.approx(0.0)


def test_eq6_optimum_matches_a_numerical_maximiser():
    """The closed form against L-BFGS-B on Eq. 6 itself (concave in w, so its maximum is global)."""
    from scipy.optimize import minimize

    rng = np.random.default_rng(0)
    d = torch.tensor(rng.normal(size=60) * 3 + 1)
    m, l1, l2 = 3.0, 10.0, 3.0
    target, t = eq6_optimum(d, m, l1, l2)
    u = ((d - d.min()) / (d - d.min()).mean()).numpy()

    def neg_eq6(w):
        value = (w * u).mean() - l1 * (w.mean() - 1) ** 2 - l2 * (np.maximum(w - m, 0) ** 2).mean()
        grad = u / len(w) - 2 * l1 * (w.mean() - 1) / len(w) - 2 * l2 * np.maximum(w - m, 0) / len(w)
        return -value, -grad

    best = minimize(neg_eq6, np.ones(60), jac=True, method="L-BFGS-B", bounds=[(0, None)] * 60,
                    options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10_000})
    # Equal apart from the one marginal latent at u = t, where Eq. 6 is flat in w and the maximiser
    # parks the fixed point's slack; the closed form gives it 0, at a cost below 1e-3 of the objective.
    assert (np.abs(target.numpy() - best.x) > 1e-3).sum() <= 1
    assert -neg_eq6(target.numpy())[0] > -best.fun - 1e-3
    assert t > 0 and 0 < (target > 0).float().mean() < 0.5  # a threshold: about 1/m of the latents kept
    assert target.mean().item() == pytest.approx(1 + t / (2 * l1), abs=1e-6)  # the fixed point


def test_eq6_ascent_steps_converge_to_eq6_optimum():
    """Iterated functional ascent steps under a fixed critic reach the closed-form maximiser."""
    d = torch.randn(5000, dtype=torch.float64, generator=torch.Generator().manual_seed(0))  # not the global RNG
    target, t = eq6_optimum(d, 3.0, 10.0, 3.0)
    w = torch.ones_like(d)
    for _ in range(3000):
        w, t_step = eq6_ascent(w, d, 3.0, 10.0, 3.0, step_size=0.15, floor=0.0)
    # all but the latents within a hair of the threshold, where a step moves w by η·|u − t| ≈ 0
    assert ((w - target).abs() < 0.05).float().mean() > 0.99 and t_step == pytest.approx(t, abs=1e-3)


def test_bank_trainer_recovers_the_pointwise_optimum_of_a_fixed_critic():
    """Known answer: G = identity on a 2-D Gaussian, the fixed critic D(x) = x_0. Eq. 6's optimum keeps
    the latents with z_0 above a threshold (w = m + (u − t)/(2λ2) ≥ m) and zeroes the rest (w = floor
    here). Tolerance: on held-out latents the trained w selects (w > m/2) the same latents as the
    optimum for ≥ 95 %, and is within 0.1·m of it on the kept ones and below 3·floor on the others
    (medians)."""
    prior = GaussianPrior(2)
    cfg = ReweightConfig(rounds=80, critic_steps=0, w_steps=60, bank=4000, step_size=0.3)
    w, _ = WTrainer(nn.Identity(), FirstCoordinate(), prior, torch.randn(512, 2), cfg).fit()
    wz, target = _against_the_optimum_of_x0(w, prior, cfg)
    keep = target > 0
    assert (wz[keep] - target[keep]).abs().median() < 0.1 * cfg.m


def test_exact_rounds_carry_the_steps_values_and_recover_the_optimum_of_a_fixed_critic():
    """``exact``: each round steps from the values the past steps gave the bank, not from w's fit of
    them, so under a fixed critic those values are the plain iterated ascent steps, and w, fitted to
    them, selects the optimum's latents. It needs one bank (refresh=False)."""
    from latentrw.reweight import round_target

    prior = GaussianPrior(2)
    cfg = ReweightConfig(rounds=80, critic_steps=0, w_steps=60, bank=4000, step_size=0.3, refresh=False, exact=True)
    tr = WTrainer(nn.Identity(), FirstCoordinate(), prior, torch.randn(512, 2), cfg)
    w, _ = tr.fit()
    values = torch.ones(cfg.bank)
    for _ in range(cfg.rounds):
        values = round_target(tr.z_bank[:, 0], cfg, values)[0]
    torch.testing.assert_close(tr.replayed, values)
    _against_the_optimum_of_x0(w, prior, cfg)
    with pytest.raises(ConfigError, match="refresh=False"):
        ReweightConfig(exact=True)


def _against_the_optimum_of_x0(w: nn.Module, prior, cfg: ReweightConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """w and Eq. 6's optimum for the critic D(x) = x_0 on 20,000 held-out latents (G = identity),
    after checking that w selects (w > m/2) the optimum's latents for ≥ 95 % and sits below 3·floor
    (median) on the others."""
    z = prior.sample(20_000, torch.Generator().manual_seed(7))
    target, _ = eq6_optimum(z[:, 0], cfg.m, cfg.lambda1, cfg.lambda2)
    with torch.no_grad():
        wz = w(z)
    keep = target > 0
    assert ((wz > cfg.m / 2) == keep).float().mean() > 0.95
    assert wz[~keep].median() < 3 * cfg.floor
    return wz, target


def _linear_first_coordinate() -> nn.Linear:
    """A trainable critic that starts as D(x) = x_0."""
    d = nn.Linear(2, 1)
    with torch.no_grad():
        d.weight.copy_(torch.tensor([[1.0, 0.0]]))
        d.bias.zero_()
    return d


def test_polish_rounds_regress_w_onto_the_optimum_of_the_critic_they_hold_fixed():
    """``polish``: the last rounds take no critic step and regress w straight onto Eq. 6's optimum under
    the critic. With every round a polish round, a trainable critic that starts as D(x) = x_0 stays
    it, and w selects the optimum's latents after far fewer rounds than the ascent steps need."""
    critic = _linear_first_coordinate()
    prior = GaussianPrior(2)
    cfg = ReweightConfig(rounds=10, polish=10, critic_steps=5, w_steps=100, bank=4000)
    w, trained = WTrainer(nn.Identity(), critic, prior, torch.randn(512, 2), cfg).fit()
    assert torch.equal(trained.weight, critic.weight) and torch.equal(trained.bias, critic.bias)
    _against_the_optimum_of_x0(w, prior, cfg)


def test_d_weight_adds_the_runs_fixed_d_to_ws_reward():
    """``d_weight``: w's reward is the critic's standardised score plus d_weight × the run's D's. The
    run's D scores x_0; the real points sit up the x_1 axis, so the critic (at a fast rate) learns to
    score x_1. With a large d_weight w ranks latents by D's score, without it by the critic's."""
    prior = GaussianPrior(2)
    real = torch.randn(512, 2, generator=torch.Generator().manual_seed(1)) + torch.tensor([0.0, 3.0])
    z = prior.sample(5000, torch.Generator().manual_seed(7))
    rho = {}
    for d_weight in (0.0, 30.0):
        cfg = ReweightConfig(rounds=12, critic_steps=10, w_steps=60, bank=2000, step_size=0.3, lr_d=0.05,
                             d_weight=d_weight)
        w, _ = WTrainer(nn.Identity(), _linear_first_coordinate(), prior, real, cfg).fit()
        with torch.no_grad():
            wz = w(z)
        rho[d_weight] = [spearmanr(wz, z[:, i]).statistic for i in (0, 1)]
    assert rho[30.0][0] > 0.8 > rho[0.0][0]
    assert rho[0.0][1] > 0.5 > rho[30.0][1]


def test_agreement_ranks_a_d_weight_w_against_its_reward_too(tmp_path):
    """agreement.json of a w trained with ``d_weight``: Spearman with its final critic and with its
    reward, recomputed here from the saved files on the same held-out latents (numpy
    standardisation, scipy ranks). As in the test above, the run's D scores x_0 and the critic learns
    x_1; with d_weight 30 w follows D, so it ranks like its reward and not like its critic."""
    from latentrw.reweight import load_critic, load_w
    from latentrw.seeding import derive_seed
    from latentrw.w_trainer import AGREEMENT, w_agreement

    prior, D = GaussianPrior(2), _linear_first_coordinate()
    real = torch.randn(512, 2, generator=torch.Generator().manual_seed(1)) + torch.tensor([0.0, 3.0])
    cfg = ReweightConfig(rounds=12, critic_steps=10, w_steps=60, bank=2000, step_size=0.3, lr_d=0.05, d_weight=30.0)
    WTrainer(nn.Identity(), D, prior, real, cfg, tmp_path / "w").fit()
    found = w_agreement(nn.Identity(), D, prior, tmp_path / "w", n=3000)
    assert json.loads((tmp_path / "w" / AGREEMENT).read_text()) == found

    z = prior.sample(3000, torch.Generator().manual_seed(derive_seed(1, "held-out")))
    with torch.no_grad():
        wz = load_w(tmp_path / "w")(z).numpy()
        c = load_critic(D, tmp_path / "w")(z).flatten().double().numpy()
        d = D(z).flatten().double().numpy()
    reward = (c - c.mean()) / c.std(ddof=1) + 30.0 * (d - d.mean()) / d.std(ddof=1)
    assert found["spearman_w_critic"] == pytest.approx(spearmanr(wz, c).statistic, abs=1e-6)
    assert found["spearman_w_reward"] == pytest.approx(spearmanr(wz, reward).statistic, abs=1e-6)
    assert found["spearman_w_reward"] > 0.8 > found["spearman_w_critic"], found
    # read back from the file, not computed again; a file without the reward figure is completed
    (tmp_path / "w" / AGREEMENT).write_text('{"spearman_w_critic": 0.5, "n": 1, "spearman_w_reward": 0.5}')
    assert w_agreement(nn.Identity(), D, prior, tmp_path / "w")["spearman_w_critic"] == 0.5
    (tmp_path / "w" / AGREEMENT).write_text('{"spearman_w_critic": 0.5, "n": 1}')
    assert w_agreement(nn.Identity(), D, prior, tmp_path / "w", n=3000) == found
    # Algorithm 1 steps w up with its critic alone, whatever d_weight says: no reward figure
    config = json.loads((tmp_path / "w" / "config.json").read_text())
    (tmp_path / "w" / "config.json").write_text(json.dumps({**config, "trainer": "algorithm1"}))
    (tmp_path / "w" / AGREEMENT).unlink()
    assert "spearman_w_reward" not in w_agreement(nn.Identity(), D, prior, tmp_path / "w", n=3000)


class Column(nn.Module):
    """A small critic returning (N, 1) -- as StyleGAN2's and many plug-ins' do -- or (N,) when flat."""

    def __init__(self, flat: bool):
        super().__init__()
        torch.manual_seed(3)
        self.net = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1), *([nn.Flatten(0)] if flat else []))

    def forward(self, x):
        return self.net(x)


@pytest.mark.parametrize("cfg", [ReweightConfig(trainer="algorithm1", steps=30, n_d=2, batch_size=32, warmup=1000),
                                 ReweightConfig(rounds=2, critic_steps=3, w_steps=100, bank=300, batch_size=32)])
def test_an_n_by_1_critic_trains_exactly_like_a_flat_one(cfg):
    """Broadcasting (N, 1) against w's (N,) would make an N×N matrix and a reward of mean(w): the
    critic's output is flattened, so both shapes give the same w bit for bit."""
    real, G = torch.randn(256, 2) + 1, nn.Linear(2, 2)
    w1, _ = train_w(G, Column(flat=False), GaussianPrior(2), real, cfg)
    w2, _ = train_w(G, Column(flat=True), GaussianPrior(2), real, cfg)
    for (k, a), b in zip(w1.state_dict().items(), w2.state_dict().values()):
        assert torch.equal(a, b), k


def test_a_critic_with_more_than_one_output_per_sample_is_a_clear_error():
    from latentrw.errors import ConfigError

    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(()))

        def forward(self, x):
            return self.scale * x

    with pytest.raises(ConfigError, match=r"shape \(32, 2\).*one logit per sample"):
        train_w(nn.Identity(), Two(), GaussianPrior(2), torch.randn(64, 2),
                ReweightConfig(trainer="algorithm1", steps=1, n_d=1, batch_size=32))


def test_one_process_takes_the_plain_single_process_step_bit_for_bit():
    """The shared (torchrun-ready) step path, with one process, against Algorithm 1 written plainly
    for one process (critic_loss, gradient_penalty and w_loss on the whole batch)."""
    from latentrw.objectives import gradient_penalty

    torch.manual_seed(0)
    G, D = nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1), nn.Flatten(0))
    real, prior = torch.randn(500, 2) + 1, GaussianPrior(2)
    cfg = ReweightConfig(trainer="algorithm1", steps=7, n_d=2, batch_size=37, warmup=1000)
    shared = WTrainer(G, D, prior, real, cfg)
    shared.fit()

    plain = WTrainer(G, D, prior, real, cfg)  # same initial w, critic and optimisers
    torch.manual_seed(cfg.seed)
    for _ in range(cfg.steps):
        for _ in range(cfg.n_d):
            x_real = real[torch.randint(len(real), (37,), generator=plain.rng)]
            z = prior.sample(37, plain.rng)
            with torch.no_grad():
                x_fake, wz = G(z), plain.w(z)
            loss = critic_loss(plain.critic(x_real), plain.critic(x_fake), wz)
            loss = loss + cfg.gp_weight * gradient_penalty(plain.critic, x_real, x_fake, plain.rng)[0]
            plain.opt_d.zero_grad()
            loss.backward()
            plain.opt_d.step()
        z = prior.sample(37, plain.rng)
        with torch.no_grad():
            d = plain.critic(G(z))
        loss, _ = w_loss(plain.w(z), d, cfg.m, cfg.lambda1, cfg.lambda2)
        plain.opt_w.zero_grad()
        loss.backward()
        plain.opt_w.step()
    for a, b in ((shared.w, plain.w), (shared.critic, plain.critic)):
        for (k, v1), v2 in zip(a.state_dict().items(), b.state_dict().values()):
            assert torch.equal(v1, v2), k


def test_a_short_run_saves_its_own_w_not_the_flat_start():
    """Algorithm 1's moving average is debiased: after 30 w-steps the saved w varies as the last
    iterate does (an average started from w ≈ 1 with decay 0.995 kept only 14 % of it)."""
    cfg = ReweightConfig(trainer="algorithm1", steps=30, n_d=0, batch_size=256, lr_w=1e-2, warmup=1000)
    with pytest.warns(UserWarning, match="only 30 fitting steps"):
        trainer = WTrainer(nn.Identity(), FirstCoordinate(), GaussianPrior(2), torch.randn(64, 2), cfg)
        saved, _ = trainer.fit()
    z = torch.randn(2000, 2)
    with torch.no_grad():
        assert saved(z).std() > 0.7 * trainer.w(z).std() > 0


def test_bank_trainer_saves_the_mean_of_its_last_rounds_w():
    cfg = ReweightConfig(rounds=4, critic_steps=2, w_steps=60, bank=300, batch_size=32, average=2)
    snapshots = []

    class Recording(WTrainer):
        def _round(self):
            terms = super()._round()
            snapshots.append({k: v.clone() for k, v in self.w.state_dict().items()})
            return terms

    D = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1), nn.Flatten(0))
    saved, _ = Recording(nn.Linear(2, 2), D, GaussianPrior(2), torch.randn(256, 2) + 1, cfg).fit()
    for k, v in saved.state_dict().items():  # rounds 3 and 4 averaged, rounds 1 and 2 not
        torch.testing.assert_close(v, (snapshots[2][k] + snapshots[3][k]) / 2)
    assert not torch.equal(snapshots[2]["net.0.weight"], snapshots[3]["net.0.weight"])
    assert ReweightConfig(rounds=4, average=5).average_window == 4  # a short budget averages every round
    with pytest.raises(Exception, match="average must be ≥ 0"):
        ReweightConfig(average=-1)


def test_critic_drift_script_known_answers(tmp_path):
    """experiments/critic_drift.py: with the critic held fixed (critic_steps=0) every kept critic is
    the same network, so the final critic agrees with each of them and with their mean exactly; with
    a training critic the first of them is the final one itself."""
    script = Path(__file__).resolve().parents[1] / "experiments" / "critic_drift.py"
    drift = runpy.run_path(str(script))["critic_drift"]
    tiny_trainer(tmp_path / "run").fit()
    run = load_run(tmp_path / "run")
    cfg = ReweightConfig(rounds=4, critic_steps=0, w_steps=5, bank=200, w_batch=32, batch_size=16, average=2)
    fixed = drift(run.G, run.D, run.prior, tiny_points().x_train, cfg, keep=3, n=300)
    assert sorted(fixed["final_vs"]) == [0, 1, 2]
    assert all(v == pytest.approx(1.0) for v in fixed["final_vs"].values())
    assert fixed["mean_of"][1][1] == pytest.approx(1.0)
    # 4 ascent steps of 0.15 from w ≡ 1 leave every latent above the floor: the replayed w is a
    # strictly increasing function of the one critic's score
    assert fixed["replay"][1] == pytest.approx(1.0)
    moving = drift(run.G, run.D, run.prior, tiny_points().x_train, dataclasses.replace(cfg, critic_steps=3), 3, 300)
    assert moving["final_vs"][0] == pytest.approx(1.0) and moving["final_vs"][2] < 1.0
    assert all(-1 <= v <= 1 for v in moving["w_vs"].values())


def test_training_into_a_folder_drops_its_stale_agreement_and_ga_tuning(tmp_path):
    """agreement.json and ga_steps.json describe the w they were computed on: a WTrainer training
    into the folder deletes them, so they are computed again for the new w instead of read."""
    from latentrw.ga_steps import GA_STEPS_FILE
    from latentrw.w_trainer import AGREEMENT

    tiny_trainer(tmp_path / "run").fit()
    run = load_run(tmp_path / "run")
    out = tmp_path / "run" / "reweight"
    out.mkdir()
    (out / AGREEMENT).write_text('{"spearman_w_critic": 0.99, "n": 1}')
    (out / GA_STEPS_FILE).write_text('{"steps": 3, "w_sha256": "0"}')
    WTrainer(run.G, run.D, run.prior, tiny_points().x_train,
             ReweightConfig(trainer="algorithm1", steps=5, n_d=1, batch_size=16), out).fit()
    assert not (out / AGREEMENT).exists() and not (out / GA_STEPS_FILE).exists()
