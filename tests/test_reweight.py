import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from torch import nn

from helpers import tiny_points, tiny_trainer
from latentrw.errors import TrainingDiverged
from latentrw.priors import GaussianPrior
from latentrw.reweight import ReweightConfig, WNetwork, WTrainer, critic_loss, train_w, w_loss
from latentrw.run import load_run


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
    cfg = ReweightConfig(steps=300, n_d=0, batch_size=256, lr_w=1e-3, warmup=50)
    w, _ = train_w(nn.Identity(), FirstCoordinate(), prior, real, cfg, on_step=lambda s, t: log.append(t))
    z = prior.sample(4000, torch.Generator().manual_seed(1))
    with torch.no_grad():
        wz = w(z)
    rho = spearmanr(wz.numpy(), z[:, 0].numpy()).statistic
    assert rho > 0.5
    assert abs(wz.mean().item() - 1) < 0.2
    assert len(log) == 300 and {"mean_w", "frac_above_m", "mean_slope", "critic_loss"} <= set(log[-1])


def test_critic_steps_run_and_models_stay_frozen():
    prior = GaussianPrior(2)
    G = nn.Linear(2, 2)
    D = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1), nn.Flatten(0))
    g_before = {k: v.clone() for k, v in G.state_dict().items()}
    d_before = {k: v.clone() for k, v in D.state_dict().items()}
    w, critic = train_w(G, D, prior, torch.randn(256, 2) + 1, ReweightConfig(steps=5, n_d=2, batch_size=32))
    assert all(torch.equal(g_before[k], v) for k, v in G.state_dict().items())
    assert all(torch.equal(d_before[k], v) for k, v in D.state_dict().items())  # the critic is a copy
    assert any(not torch.equal(d_before[k], v) for k, v in critic.state_dict().items())


def test_mean_w_leaving_its_range_stops_training():
    class Huge(nn.Module):
        def forward(self, x):
            return 1e3 * x[:, 0]

    cfg = ReweightConfig(steps=400, n_d=0, batch_size=64, lr_w=5e-2, lambda1=0.0, lambda2=0.0, warmup=10)
    with pytest.raises(TrainingDiverged, match="left \\[0.5, 2\\]"):
        train_w(nn.Identity(), Huge(), GaussianPrior(2), torch.randn(64, 2), cfg)


class Crash(Exception):
    pass


def test_w_training_resumes_to_identical_weights(tmp_path):
    from latentrw.reweight import load_w

    G = nn.Linear(2, 2)
    D = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 1), nn.Flatten(0))
    real = torch.randn(256, 2) + 1
    cfg = ReweightConfig(steps=40, n_d=2, batch_size=32, warmup=1000)
    ref_w, ref_critic = WTrainer(G, D, GaussianPrior(2), real, cfg, tmp_path / "ref", checkpoint_every=10).fit()

    def crash(step, terms):
        if step == 25:
            raise Crash

    with pytest.raises(Crash):
        WTrainer(G, D, GaussianPrior(2), real, cfg, tmp_path / "run", checkpoint_every=10, log_every=5,
                 on_step=crash).fit()
    w, critic = WTrainer(G, D, GaussianPrior(2), real, cfg, tmp_path / "run", checkpoint_every=10).fit()
    for a, b in ((w, ref_w), (critic, ref_critic)):
        for (k, v1), v2 in zip(a.state_dict().items(), b.state_dict().values()):
            assert torch.equal(v1, v2), k
    loaded = load_w(tmp_path / "run")
    z = torch.randn(5, 2)
    torch.testing.assert_close(loaded(z), w(z))
    with pytest.raises(Exception, match="another config"):
        WTrainer(G, D, GaussianPrior(2), real, ReweightConfig(steps=40, m=5), tmp_path / "run").fit()


def test_cli_reweight_then_latent_rs(tmp_path):
    import numpy as np
    from click.testing import CliRunner

    from latentrw.cli import main

    tiny_trainer(tmp_path / "r", n=80).fit()
    runner = CliRunner()
    out = runner.invoke(main, ["reweight", str(tmp_path / "r"), "--steps", "20", "--batch-size", "32", "--quiet",
                               "--device", "cpu"])
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


def test_critic_penalty_defaults_to_the_runs_own():
    from latentrw.config import TrainConfig
    from latentrw.reweight import critic_gp_weight

    toy = TrainConfig(dataset="swissroll", model="toy", objective="wgan-gp", gp_weight=0.1).resolve("points")
    assert critic_gp_weight(toy) == 0.1
    assert critic_gp_weight(TrainConfig(dataset="mnist", objective="ns").resolve("image")) == 10.0  # no penalty: 10
    assert critic_gp_weight(TrainConfig(dataset="mnist", objective="hinge-gp").resolve("image")) == 10.0


def test_w_learnability_script_fits_a_smooth_critic(tmp_path, monkeypatch, capsys):
    """scripts/w_learnability.py on a tiny 2-D run: the w-shaped regression ranks latents by the
    critic almost perfectly (a smooth 2-D function), and every line of the report is printed."""
    tiny_trainer(tmp_path / "run").fit()
    run = load_run(tmp_path / "run")
    WTrainer(run.G, run.D, run.prior, tiny_points().x_train, ReweightConfig(steps=5, n_d=1, batch_size=16),
             tmp_path / "run" / "reweight").fit()
    script = Path(__file__).resolve().parents[1] / "scripts" / "w_learnability.py"
    monkeypatch.setattr(sys, "argv", [str(script), str(tmp_path / "run"), str(tmp_path / "run" / "reweight"),
                                      "--n-train", "2000", "--n-test", "500", "--steps", "400"])
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    fit = float(out.split("w-shaped fit")[1].split("Spearman ")[1].split()[0])
    assert fit > 0.9, out
    assert "trained w: Spearman" in out and "last w iterate: Spearman" in out


def test_w_optimum_2d_known_answers():
    """scripts/w_optimum_2d.py's partial-OT weights on a hand-solved case: two generated points, one
    on the only real point and one far away; with cap m = 2 (all mass may sit on one of two points)
    the optimum puts everything on the near one and reaches EMD 0, and latentRS with w ≡ 1 gives the
    plain EMD (mean distance 5)."""
    script = Path(__file__).resolve().parents[1] / "scripts" / "w_optimum_2d.py"
    mod = runpy.run_path(str(script))
    x = np.array([[0.0, 0.0], [10.0, 0.0]])
    real = np.array([[0.0, 0.0]])
    w, emd = mod["optimal_weights"](x, real, 2.0)
    np.testing.assert_allclose(w, [2.0, 0.0], atol=1e-9)
    assert emd == pytest.approx(0.0, abs=1e-9)
    assert mod["latent_rs_emd"](np.ones(2), x, real, 3.0) == pytest.approx(5.0)
    # w/(m·mean w) = 2/3 and 0: all accepted mass on the near point
    assert mod["latent_rs_emd"](np.array([2.0, 0.0]), x, real, 2.0) == pytest.approx(0.0)


def test_sampler_seeds_times_a_continued_w_budget(tmp_path):
    """scripts/sampler_seeds.py's seconds.txt sums the sittings that trained: a budget continued from
    a copied shorter one records the earlier time plus its own; a finished one is not re-timed."""
    import shutil

    tiny_trainer(tmp_path / "run").fit()
    run = load_run(tmp_path / "run")
    train_seed = runpy.run_path(str(Path(__file__).resolve().parents[1] / "scripts" / "sampler_seeds.py"))["train_seed"]
    real = tiny_points().x_train
    out = train_seed(tmp_path / "run", run, real, 0, 20)
    first = float((out / "seconds.txt").read_text())
    assert out.name == "reweight20-s0" and first > 0
    assert train_seed(tmp_path / "run", run, real, 0, 20) == out
    assert float((out / "seconds.txt").read_text()) == first
    shutil.copytree(out, tmp_path / "run" / "reweight40-s0")
    longer = train_seed(tmp_path / "run", run, real, 0, 40)
    assert json.loads((longer / "log.jsonl").read_text().splitlines()[-1])["step"] == 40
    assert float((longer / "seconds.txt").read_text()) > first


def test_sampler_seeds_table_pairs_each_sampler_with_base_by_seed(tmp_path, capsys):
    """The printed table ends with sampler − base per seed: here latent-rs is 0.1 better in precision
    in every seed although its unpaired interval overlaps base's."""
    recs = [{"source": "toy", "sampler": name, "label": name, "seed": seed, "n": 10,
             "metrics": {"precision": p + (0.1 if name == "latent-rs" else 0.0)}, "cost": {"proposals": 1.0, "ms": 1.0}}
            for name in ("base", "latent-rs") for seed, p in enumerate((0.2, 0.5, 0.8))]
    path = tmp_path / "results.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    runpy.run_path(str(Path(__file__).resolve().parents[1] / "scripts" / "sampler_seeds.py"))["print_table"](path)
    out = capsys.readouterr().out
    assert "| latent-rs | 3 | 0.6 ± 0.75 |" in out and "| latent-rs | +0.1 ± 0 (3/3) |" in out
