import json

import pytest
import torch
from helpers import tiny_points, tiny_trainer

import latentrw.metrics.evaluate as evaluate_module
from latentrw.config import TrainConfig
from latentrw.data import Dataset
from latentrw.errors import ConfigError
from latentrw.run import load_run
from latentrw.selection import WeightAverage


def test_hold_out_keeps_the_last_items_apart():
    data = tiny_points(100)
    train, held = data.hold_out(30)
    assert torch.equal(train.x_train, data.x_train[:70]) and torch.equal(held.x_train, data.x_train[70:])
    assert data.hold_out(0) == (data, None)
    with pytest.raises(ConfigError, match="hold out 100"):
        data.hold_out(100)


def test_weight_average_known_answer():
    # From 0, k updates towards a constant 1 with decay d leave 1 - d^k.
    layer = torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.zeros_(layer.weight)
    avg = WeightAverage(layer, 0.9)
    layer.weight.data.fill_(1.0)
    for _ in range(5):
        avg.update(layer)
    assert avg.module.weight.item() == pytest.approx(1 - 0.9 ** 5)
    assert not avg.module.weight.requires_grad


def test_fid_selection_needs_a_holdout():
    with pytest.raises(ConfigError, match="holdout"):
        TrainConfig(dataset="4clusters", model="toy", select="fid", eval_every=1).resolve()


def test_selection_reads_only_held_out_training_data(tmp_path, monkeypatch):
    """Model selection must never touch the test split: every way to reach it raises here."""
    def no_test_split(*args, **kwargs):
        raise AssertionError("model selection read the test split")

    original = Dataset.model_input

    def train_only(self, split="train", device="cpu"):
        if split == "test":
            no_test_split()
        return original(self, split, device)

    monkeypatch.setattr(evaluate_module, "reference", no_test_split)
    monkeypatch.setattr(Dataset, "model_input", train_only)
    trainer = tiny_trainer(tmp_path, n=240, epochs=3, holdout=80, g_ema=0.5, select="fid", eval_every=1, eval_n=100)
    assert trainer.steps_per_epoch == (240 - 80) // 8  # the held-out points are not trained on
    trainer.fit()

    selection = json.loads((tmp_path / "best" / "selection.json").read_text())
    candidates = selection["candidates"]
    assert [(c["epoch"], c["weights"]) for c in candidates] == [(e, w) for e in (1, 2, 3) for w in ("raw", "ema")]
    assert selection["selected"]["fid"] == min(c["fid"] for c in candidates)
    assert "last 80 training samples" in selection["reference"]
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    chosen = selection["selected"]
    key = "metrics" if chosen["weights"] == "raw" else "metrics_ema"
    assert log[chosen["epoch"] - 1][key]["fid"] == chosen["fid"]

    assert (tmp_path / "curves.png").stat().st_size > 1000
    best = load_run(tmp_path / "best")
    assert best.config.holdout == 80 and best.step == chosen["step"]
    # The kept G scores the recorded FID again: it is the selected candidate's weights.
    trainer.G.load_state_dict(best.G.state_dict())
    trainer.prior.load_state_dict(best.prior.state_dict())
    assert trainer.evaluate(100)["fid"] == pytest.approx(chosen["fid"], abs=1e-6)


def test_last_step_average_is_kept_in_best(tmp_path):
    trainer = tiny_trainer(tmp_path, n=96, epochs=2, g_ema=0.8)
    trainer.fit()
    best = load_run(tmp_path / "best")
    for a, b in zip(best.G.state_dict().values(), trainer.ema.module["G"].state_dict().values()):
        assert torch.equal(a, b)
    assert json.loads((tmp_path / "best" / "selection.json").read_text())["selected"]["weights"] == "ema"
