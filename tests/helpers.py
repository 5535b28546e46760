"""Tiny training set-ups shared by the tests."""

import dataclasses
import json
from pathlib import Path

from latentrw.config import TrainConfig
from latentrw.data import load_dataset
from latentrw.train import Trainer


def tiny_points(n: int = 240):
    ds = load_dataset("4clusters")
    return dataclasses.replace(ds, x_train=ds.x_train[:n], x_test=ds.x_test[:200])


def tiny_config(**kw) -> TrainConfig:
    base = dict(dataset="4clusters", model="toy", epochs=1, batch_size=8, device="cpu",
                g_options={"hidden": [16, 16]}, d_options={"hidden": [16, 16]}, log_every=5)
    base.update(kw)
    return TrainConfig(**base)


def tiny_trainer(run_dir, n: int = 240, on_step=None, **kw) -> Trainer:
    return Trainer(tiny_config(**kw), run_dir, data=tiny_points(n), progress=False, on_step=on_step)


def load_strict_json(path: Path):
    """Parse a JSON file, refusing NaN and Infinity: Python writes them, other tools refuse the file."""
    def refuse(token: str):
        raise ValueError(f"{path} holds {token}, which is not JSON")

    return json.loads(Path(path).read_text(), parse_constant=refuse)


# A small budget of the default (bank) w trainer: enough for w to follow its critic on 2-D toys.
TINY_W = dict(rounds=3, critic_steps=5, w_steps=100, bank=1000, batch_size=64)
