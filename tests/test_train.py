import json
import math

import pytest
import torch
from helpers import tiny_trainer

from latentrw.config import TrainConfig
from latentrw.errors import CheckpointError, ConfigError, TrainingDiverged
from latentrw.objectives import OBJECTIVES
from latentrw.priors import PRIORS
from latentrw.run import load_run


def state(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


@pytest.mark.parametrize("prior", PRIORS.names())
@pytest.mark.parametrize("objective", OBJECTIVES.names())
def test_every_objective_and_prior_trains_without_nan(tmp_path, objective, prior):
    tr = tiny_trainer(tmp_path, n=96, objective=objective, prior=prior, grid_size=16)
    before = state(tr.G)
    tr.fit()
    logs = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert len(logs) == 1 and logs[0]["step"] == 12
    assert all(math.isfinite(v) for k, v in logs[0].items() if isinstance(v, float))
    assert all(torch.isfinite(p).all() for p in tr.G.parameters())
    assert any(not torch.equal(before[k], v) for k, v in tr.G.state_dict().items())  # G did learn
    if tr.cfg.gp_weight:
        assert "gp" in logs[0] and "grad_norm" in logs[0]
    run = load_run(tmp_path)
    assert run.step == 12 and run.prior.config == tr.prior.config


def test_gm_prior_is_trained_with_g(tmp_path):
    tr = tiny_trainer(tmp_path, prior="gm", n=96)
    means = tr.prior.means.detach().clone()
    tr.fit()
    assert not torch.equal(means, tr.prior.means)
    static = tiny_trainer(tmp_path / "s", prior="gm-static", n=96)
    means = static.prior.means.clone()
    static.fit()
    assert torch.equal(means, static.prior.means)


class Crash(Exception):
    pass


def crash_at(step):
    def hook(s):
        if s == step:
            raise Crash

    return hook


# wgan-gp: GP draws from the latent RNG and n_critic=5 exercises the G/D step phase;
# gm prior: prior parameters and optimizer state; D dropout: the global RNG.
# g_ema: the average of G's weights is part of the state.
RESUME_SETUP = dict(objective="wgan-gp", prior="gm", epochs=3, checkpoint_every=4, g_ema=0.9,
                    d_options={"hidden": [16], "dropout": 0.2})


@pytest.mark.parametrize("crash", [Crash, KeyboardInterrupt])
def test_crash_and_resume_gives_identical_weights(tmp_path, crash):
    reference = tiny_trainer(tmp_path / "ref", n=80, **RESUME_SETUP)
    reference.fit()

    def hook(s):
        if s == 17:  # mid-epoch (10 steps per epoch), between checkpoints at 16 and 20
            raise crash

    with pytest.raises(crash):
        tiny_trainer(tmp_path / "run", n=80, on_step=hook, **RESUME_SETUP).fit()
    resumed = tiny_trainer(tmp_path / "run", n=80, **RESUME_SETUP)
    resumed.fit(resume=True)
    assert resumed.step == reference.step == 30
    for a, b in ((resumed.G, reference.G), (resumed.D, reference.D), (resumed.prior, reference.prior),
                 (resumed.ema.module, reference.ema.module)):
        assert_same_weights(state(a), state(b))
    log = (tmp_path / "run" / "log.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in log] == [1, 2, 3]


def test_kill_while_exporting_models_loses_nothing(tmp_path, monkeypatch):
    import latentrw.train as train_mod

    reference = tiny_trainer(tmp_path / "ref", n=80, **RESUME_SETUP)
    reference.fit()
    real_save_module, calls = train_mod.save_module, []

    def dying_save_module(path, module, header):
        calls.append(path.name)
        if header["step"] == 20 and path.name == "D.safetensors":
            raise Crash  # killed after train_state and G of step 20, before D and prior
        real_save_module(path, module, header)

    monkeypatch.setattr(train_mod, "save_module", dying_save_module)
    with pytest.raises(Crash):
        tiny_trainer(tmp_path / "run", n=80, **RESUME_SETUP).fit()
    monkeypatch.setattr(train_mod, "save_module", real_save_module)
    run = load_run(tmp_path / "run")  # G is at 20, D/prior at 16: recovered from train_state
    assert run.step == 20
    resumed = tiny_trainer(tmp_path / "run", n=80, **RESUME_SETUP)
    resumed.fit(resume=True)
    for a, b in ((resumed.G, reference.G), (resumed.D, reference.D), (resumed.prior, reference.prior),
                 (resumed.ema.module, reference.ema.module)):
        assert_same_weights(state(a), state(b))


def test_ctrl_c_in_the_middle_of_a_step_finishes_it_then_saves(tmp_path):
    import os
    import signal

    reference = tiny_trainer(tmp_path / "ref", n=80, **RESUME_SETUP)
    reference.fit()
    tr = tiny_trainer(tmp_path / "run", n=80, **RESUME_SETUP)
    inner = tr.opt_g.step
    count = []

    def step_then_sigint(*a, **kw):
        count.append(1)
        if len(count) == 3:  # the G step of step 15: after D's update, before G's
            os.kill(os.getpid(), signal.SIGINT)
        return inner(*a, **kw)

    tr.opt_g.step = step_then_sigint
    with pytest.raises(KeyboardInterrupt, match="interrupted at step 15"):
        tr.fit()
    assert load_run(tmp_path / "run").step == 15
    resumed = tiny_trainer(tmp_path / "run", n=80, **RESUME_SETUP)
    resumed.fit(resume=True)
    for a, b in ((resumed.G, reference.G), (resumed.D, reference.D), (resumed.prior, reference.prior),
                 (resumed.ema.module, reference.ema.module)):
        assert_same_weights(state(a), state(b))


def test_n_critic_schedule(tmp_path):
    tr = tiny_trainer(tmp_path, n=80, objective="wgan", epochs=2)  # n_critic 5, 10 steps per epoch
    d_calls, g_calls = [], []
    d_step, g_step = tr.opt_d.step, tr.opt_g.step
    tr.opt_d.step = lambda *a, **k: (d_calls.append(tr.step), d_step(*a, **k))[1]
    tr.opt_g.step = lambda *a, **k: (g_calls.append(tr.step), g_step(*a, **k))[1]
    tr.fit()
    assert d_calls == list(range(20)) and g_calls == [4, 9, 14, 19]  # G after every 5th D step
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [(r["d_steps"], r["g_steps"]) for r in log] == [(10, 2), (10, 2)]
    assert all(p.abs().max() <= 0.01 for p in tr.D.parameters())  # weight clipping


def test_batch_larger_than_data_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="larger than the 40 training samples"):
        tiny_trainer(tmp_path, n=40, batch_size=64)


def test_rerun_same_config_reuses_and_other_config_refuses(tmp_path):
    tiny_trainer(tmp_path, n=80).fit()
    g = state(load_run(tmp_path).G)
    tiny_trainer(tmp_path, n=80).fit()  # same command again: nothing to do
    assert_same_weights(g, state(load_run(tmp_path).G))
    with pytest.raises(ConfigError, match="another config"):
        tiny_trainer(tmp_path, n=80, objective="wgan").fit()
    with pytest.raises(ConfigError, match="already holds a run"):
        tiny_trainer(tmp_path, n=80).fit(resume=False)
    tiny_trainer(tmp_path, n=80, epochs=2).fit()  # more epochs: continues
    assert load_run(tmp_path).step == 20
    with pytest.raises(ConfigError, match="already at step 20"):
        tiny_trainer(tmp_path, n=80, epochs=1).fit(resume=True)


def test_nan_weights_at_a_checkpoint_step_are_never_saved(tmp_path):
    def poison(step):
        if step == 10:  # after the step, before its checkpoint is written
            with torch.no_grad():
                next(tr.G.parameters())[0] = float("inf")

    tr = tiny_trainer(tmp_path, n=80, epochs=2, checkpoint_every=5, log_every=100, on_step=poison)
    with pytest.raises(TrainingDiverged, match="non-finite weights in G at step 10"):
        tr.fit()
    run = load_run(tmp_path)
    assert run.step == 5 and all(torch.isfinite(p).all() for p in run.G.parameters())


def test_nan_stops_with_clear_message_and_keeps_last_good_checkpoint(tmp_path):
    def poison(step):
        if step == 7:
            with torch.no_grad():
                next(tr.D.parameters()).fill_(float("nan"))

    tr = tiny_trainer(tmp_path, n=80, epochs=2, checkpoint_every=5, log_every=1, on_step=poison)
    with pytest.raises(TrainingDiverged, match="non-finite loss at step 8"):
        tr.fit()
    run = load_run(tmp_path)
    assert run.step == 5
    assert all(torch.isfinite(p).all() for p in run.D.parameters())


def test_same_seed_same_weights_and_caller_rng_untouched(tmp_path):
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = tiny_trainer(tmp_path / "a", n=80)
    a.fit()
    assert torch.equal(before, torch.get_rng_state())
    b = tiny_trainer(tmp_path / "b", n=80)
    b.fit()
    assert_same_weights(state(a.G), state(b.G))
    c = tiny_trainer(tmp_path / "c", n=80, seed=1)
    c.fit()
    assert not torch.equal(state(a.G)["net.0.weight"], state(c.G)["net.0.weight"])


def test_linear_lr_decay(tmp_path):
    tr = tiny_trainer(tmp_path, n=80, lr_decay="linear", epochs=2)
    tr.fit()
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert log[0]["lr_g"] == pytest.approx(2e-4 * (1 - 9 / 20))
    assert log[1]["lr_g"] == pytest.approx(2e-4 * (1 - 19 / 20))


def test_config_validation():
    with pytest.raises(ConfigError, match="unknown objective 'nope'"):
        TrainConfig(objective="nope").resolve()
    with pytest.raises(ConfigError, match="does not fit points data"):
        TrainConfig(dataset="25gaussians", model="mlp").resolve()
    with pytest.raises(ConfigError, match="does not take"):
        TrainConfig(model="mlp", g_options={"width": 3}).resolve()
    with pytest.raises(ConfigError, match="unknown config keys"):
        TrainConfig.from_dict({"epochs": 3, "epoch": 4})
    cfg = TrainConfig(objective="wgan-gp").resolve()
    assert (cfg.gp_weight, cfg.n_critic, cfg.lr_d, cfg.z_dim) == (10.0, 5, 1e-4, 100)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg


def test_corrupt_checkpoints_are_clear_errors(tmp_path):
    tiny_trainer(tmp_path, n=80).fit()
    g = tmp_path / "G.safetensors"
    raw = g.read_bytes()
    g.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_run(tmp_path)
    g.write_bytes(b"\x80\x04 not a checkpoint at all")
    with pytest.raises(CheckpointError, match="G.safetensors"):
        load_run(tmp_path)
    with pytest.raises(CheckpointError, match="not a trained run directory"):
        load_run(tmp_path / "nowhere")


def test_checkpoint_header_mismatch(tmp_path):
    from latentrw.checkpoint import load_tensors, save_tensors

    tiny_trainer(tmp_path, n=80).fit()
    tensors, head = load_tensors(tmp_path / "G.safetensors")
    save_tensors(tmp_path / "G.safetensors", tensors, {**head, "config": {**head["config"], "hidden": [8]}})
    with pytest.raises(CheckpointError, match="do not fit"):
        load_run(tmp_path)
    save_tensors(tmp_path / "G.safetensors", tensors, {**head, "family": "nope"})
    with pytest.raises(CheckpointError, match="does not describe"):
        load_run(tmp_path)
    save_tensors(tmp_path / "G.safetensors", tensors, {**head, "step": 3})
    (tmp_path / "train_state.safetensors").unlink()
    with pytest.raises(CheckpointError, match="different steps"):
        load_run(tmp_path)
