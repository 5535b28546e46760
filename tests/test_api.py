"""The public API: every name in latentrw.__all__ resolves to its home module's object."""

import importlib

import latentrw


def test_every_public_name_resolves_to_its_home():
    assert len(latentrw.__all__) >= 20 and "LatentRS" in latentrw.__all__ and "train_w" in latentrw.__all__
    homes = {"train_gan": ("latentrw.train", "train"), "run_bench": ("latentrw.bench", "bench"),
             "LatentRS": ("latentrw.samplers.latent", "LatentRS"), "train_w": ("latentrw.w_trainer", "train_w")}
    for name, (home, attr) in homes.items():
        assert getattr(latentrw, name) is getattr(importlib.import_module(home), attr), name


def test_no_public_name_hides_a_module():
    """``import latentrw.train as m`` must give the module, not a function re-exported as ``train``."""
    import importlib.util

    assert not [n for n in latentrw.__all__ if importlib.util.find_spec(f"latentrw.{n}") is not None]
    import latentrw.train as module

    assert hasattr(module, "Trainer")
    assert all(callable(getattr(latentrw, name)) or name == "SAMPLERS" for name in latentrw.__all__)


def test_unknown_names_fail_clearly_and_the_version_is_set():
    assert latentrw.__version__
    try:
        latentrw.nope  # noqa: B018
    except AttributeError as exc:
        assert "nope" in str(exc)
    else:
        raise AssertionError("latentrw.nope resolved")


def test_the_data_package_does_not_import_the_metrics():
    """metrics build on features and data, features on data, never the other way round (a user
    dataset of points gets its coordinates as features by the extractors' fallback, not by data
    registering an extractor)."""
    import ast
    from pathlib import Path

    def imported(package: str) -> set[str]:
        folder = Path(latentrw.__file__).parent / package
        return {node.module for f in folder.glob("*.py") for node in ast.walk(ast.parse(f.read_text()))
                if isinstance(node, ast.ImportFrom) and node.module}

    assert not [m for m in imported("data") if m.startswith(("latentrw.metrics", "latentrw.features"))]
    assert not [m for m in imported("features") if m.startswith("latentrw.metrics")]
