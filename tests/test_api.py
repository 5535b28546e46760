"""The public API: every name in latentrw.__all__ resolves to its home module's object."""

import importlib

import latentrw


def test_every_public_name_resolves_to_its_home():
    assert len(latentrw.__all__) >= 20 and "LatentRS" in latentrw.__all__ and "train_w" in latentrw.__all__
    homes = {"train": "latentrw.train", "bench": "latentrw.bench", "LatentRS": "latentrw.samplers.latent",
             "train_w": "latentrw.w_trainer", "evaluate_samples": "latentrw.metrics.evaluate"}
    for name, home in homes.items():  # a function, not the module of the same name
        assert getattr(latentrw, name) is getattr(importlib.import_module(home), name), name
    assert all(callable(getattr(latentrw, name)) or name == "SAMPLERS" for name in latentrw.__all__)


def test_unknown_names_fail_clearly_and_the_version_is_set():
    assert latentrw.__version__
    try:
        latentrw.nope  # noqa: B018
    except AttributeError as exc:
        assert "nope" in str(exc)
    else:
        raise AssertionError("latentrw.nope resolved")
