"""The Table 1 protocol: its table against a hand-computed answer, and its models."""

import dataclasses
import json

import pytest
import torch

from latentrw import table1
from latentrw.data import load_dataset
from latentrw.models.toy import ToyDiscriminator, ToyGenerator


def _rec(dataset, sampler, seed, value, metric="emd"):
    return {"dataset": dataset, "sampler": sampler, "seed": seed, "metrics": {metric: value}}


def test_table_prints_means_ratios_and_seeds_below_base_beside_the_paper():
    recs = [_rec("swissroll", "real", 0, 0.05)]
    recs += [_rec("swissroll", "base", s, v) for s, v in enumerate((0.10, 0.12, 0.14))]
    recs += [_rec("swissroll", "latent-rs", s, v) for s, v in enumerate((0.09, 0.10, 0.15))]
    lines = table1.table(recs).splitlines()  # the Euclidean EMD unless told
    base = next(line for line in lines if line.startswith("| WGAN-GP (base)"))
    rs = next(line for line in lines if line.startswith("| latent-rs |"))
    # t_{0.985, 2} = 5.6428; base: mean 0.12, sd 0.02 -> half-width 5.6428 * 0.02 / sqrt(3) = 0.0652
    assert "| 0.030 ± 0.002 | 1.00 | 0.120 ± 0.065 | 1.00 |" in base
    assert "| 0.025 ± 0.002 | 0.83 |" in rs  # the paper's latentRS and its ratio to the paper's base
    assert "| 0.113 ± 0.105 | 0.94 | 2/3 |" in rs  # mean 0.1133 / 0.12; seeds 0 and 1 below base, seed 2 above
    assert "not run" in next(line for line in lines if line.startswith("| latent-rs |"))  # 25 Gaussians
    assert any("swissroll: real-vs-real floor 0.050 at N = 1000 (one draw); base / floor 2.40" in line
               for line in lines)
    recs.append(_rec("swissroll", "real", 1, 0.07))  # a second draw of the floor: the table takes their mean
    assert "swissroll: real-vs-real floor 0.060 at N = 1000 (mean of 2 draws); base / floor 2.00" in table1.table(recs)


def test_tables_print_each_ground_cost_from_its_own_records():
    recs = [_rec("swissroll", "base", 0, 0.10), _rec("swissroll", "base", 0, 0.02, "emd_sq"),
            _rec("swissroll", "latent-rs", 0, 0.05, "emd_sq")]  # latentRS measured with the squared cost only
    text = table1.tables(recs)
    euclidean, squared = text.split("### ")[1:]
    assert squared.startswith("EMD with squared Euclidean cost") and euclidean.startswith("EMD with Euclidean cost")
    assert "| 0.020 | 1.00 |" in squared and "| 0.050 | 2.50 | 0/1 |" in squared
    assert "| 0.100 | 1.00 |" in euclidean
    assert "not run" in next(line for line in euclidean.splitlines() if line.startswith("| latent-rs |"))


def test_protocol_models_are_gan_toys_and_leaky_relu_is_an_option():
    config = table1.train_config("swissroll").resolve("points")
    G = ToyGenerator(z_dim=2, **config.g_options)
    D = ToyDiscriminator(**config.d_options)
    assert [m.out_features for m in G.net if isinstance(m, torch.nn.Linear)] == [512, 512, 512, 2]
    assert [m.out_features for m in D.net if isinstance(m, torch.nn.Linear)] == [512, 512, 512, 1]
    assert config.gp_weight == 0.1 and config.n_critic == 5 and config.batch_size == 256
    leaky = ToyGenerator(hidden=(256,) * 3, activation="leaky_relu")  # DOT's 2-D G
    assert [m.negative_slope for m in leaky.net if isinstance(m, torch.nn.LeakyReLU)] == [0.2] * 3
    with pytest.raises(ValueError, match="activation must be one of"):
        ToyGenerator(activation="tanh")


_PROTOCOL_CONFIG = table1.train_config


def _tiny_config(dataset, epochs):
    config = _PROTOCOL_CONFIG(dataset, epochs)
    return dataclasses.replace(config, batch_size=1024, g_options={"hidden": [16]}, d_options={"hidden": [16]})


@pytest.fixture
def nan_test_split(monkeypatch):
    """Datasets whose test split is NaN: any figure that read it would come out NaN."""
    def load(name):
        data = load_dataset(name)
        return dataclasses.replace(data, x_test=torch.full_like(torch.as_tensor(data.x_test), float("nan")))
    monkeypatch.setattr(table1, "load_dataset", load)


@pytest.mark.parametrize("ratio, stopped_at, checks", [(float("inf"), 1, 1), (0.0, 2, 2)])
def test_train_until_stops_by_the_holdout_rule_and_resumes(tmp_path, monkeypatch, nan_test_split, ratio,
                                                           stopped_at, checks):
    monkeypatch.setattr(table1, "train_config", _tiny_config)
    monkeypatch.setattr(table1, "CHECK_EVERY", 1)
    monkeypatch.setattr(table1, "MAX_EPOCHS", 2)
    monkeypatch.setattr(table1, "STOP_RATIO", ratio)  # inf: the first check stops; 0: only MAX_EPOCHS does
    state = table1.train_until("swissroll", tmp_path / "run", seeds=(0, 1))
    assert state["stopped_at"] == stopped_at and [c["epoch"] for c in state["checks"]] == list(range(1, checks + 1))
    check = state["checks"][-1]
    assert 0 < check["floor_emd"] < check["base_emd"]  # finite: the NaN test split was never read
    assert check["floor_emd"] == pytest.approx(table1.holdout_floor(tmp_path / "run", (0, 1)), abs=1e-5)
    assert check["ratio"] == pytest.approx(check["base_emd"] / check["floor_emd"], rel=1e-3)
    assert json.loads((tmp_path / "run" / table1.STOPPING).read_text()) == state
    mtime = (tmp_path / "run" / "G.safetensors").stat().st_mtime_ns
    assert table1.train_until("swissroll", tmp_path / "run", seeds=(0, 1)) == state  # done: nothing retrained
    assert (tmp_path / "run" / "G.safetensors").stat().st_mtime_ns == mtime
    stored = json.loads((tmp_path / "run" / table1.STOPPING).read_text())
    stored["checks"].pop()  # as if stopped between the last stage's training and its check
    (tmp_path / "run" / table1.STOPPING).write_text(json.dumps(stored))
    assert table1.train_until("swissroll", tmp_path / "run", seeds=(0, 1)) == state  # checked, not retrained
    assert (tmp_path / "run" / "G.safetensors").stat().st_mtime_ns == mtime
    if ratio == float("inf"):  # a stricter rule trains on from the last check
        monkeypatch.setattr(table1, "STOP_RATIO", 0.0)
        state = table1.train_until("swissroll", tmp_path / "run", seeds=(0, 1))
        assert state["stopped_at"] == 2 and [c["epoch"] for c in state["checks"]] == [1, 2]
        assert state["rule"]["stop_ratio"] == 0.0
