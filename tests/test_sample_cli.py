import re
from pathlib import Path

import numpy as np
import torch
from click.testing import CliRunner
from helpers import tiny_trainer
from PIL import Image

from latentrw.cli import main
from latentrw.data import DATASETS
from latentrw.models import MODELS
from latentrw.objectives import OBJECTIVES
from latentrw.priors import PRIORS
from latentrw.run import load_run
from latentrw.sample import draw_latents, export, generate

ROOT = Path(__file__).resolve().parents[1]


def test_help_lists_the_registries():
    out = CliRunner().invoke(main, ["train", "--help"]).output
    flat = re.sub(r"\s+", "", out)
    for registry in (OBJECTIVES, MODELS, PRIORS, DATASETS):
        assert "|".join(registry.names()) in flat
    top = CliRunner().invoke(main, ["--help"]).output
    assert all(cmd in top for cmd in ("train", "sample", "data"))


def test_readme_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^(bash scripts/setup\.sh && .+)$", readme, flags=re.M)
    assert len(commands) == 2, commands  # the main job, and the tests
    test_command = next(c for c in commands if "pytest" in c)
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_command in ci.splitlines()


def test_latents_do_not_depend_on_n_or_batch_size(tmp_path):
    tiny_trainer(tmp_path, n=80).fit()
    run = load_run(tmp_path)
    a = draw_latents(run.prior, 2500, seed=3)
    assert torch.equal(a[:1000], draw_latents(run.prior, 1000, seed=3))
    x1, _ = generate(run, 1500, seed=3, batch_size=7)
    x2, _ = generate(run, 1500, seed=3, batch_size=1000)
    torch.testing.assert_close(x1, x2)
    assert not torch.equal(a[:10], draw_latents(run.prior, 10, seed=4))


def test_export_points_and_cli_errors(tmp_path):
    tiny_trainer(tmp_path / "run", n=80).fit()
    info = export(load_run(tmp_path / "run"), 50, tmp_path / "out", seed=1)
    data = np.load(info["npz"])
    assert data["x"].shape == (50, 2) and data["z"].shape == (50, 2)
    result = CliRunner().invoke(main, ["sample", str(tmp_path / "out"), "--out", str(tmp_path / "o2")])
    assert result.exit_code != 0 and "not a trained run directory" in result.output


def test_cli_train_and_sample_images(tmp_path, monkeypatch):
    # A tiny image run through the CLI on a 16-image slice of MNIST-shaped data.
    import latentrw.train as train_mod
    from latentrw.data import load_dataset

    ds = load_dataset("mnist")
    small = type(ds)(**{**ds.__dict__, "x_train": ds.x_train[:32], "y_train": ds.y_train[:32]})
    monkeypatch.setattr(train_mod, "load_dataset", lambda name: small)
    runner = CliRunner()
    args = ["train", "--dataset", "mnist", "--model", "cnn", "--width", "4", "--objective", "hinge-gp",
            "--epochs", "2", "--batch-size", "8", "--device", "cpu", "--quiet", "--out", str(tmp_path / "r")]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r" / "samples" / "epoch_0002.png").is_file()
    result = runner.invoke(main, ["sample", str(tmp_path / "r"), "--n", "12", "--out", str(tmp_path / "s"), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    pngs = sorted((tmp_path / "s").glob("0*.png"))
    assert len(pngs) == 12
    im = Image.open(pngs[0])
    assert im.size == (28, 28) and im.mode == "L"
    npz = np.load(tmp_path / "s" / "samples.npz")
    assert npz["x"].dtype == np.uint8 and npz["x"].shape == (12, 28, 28)
    np.testing.assert_array_equal(np.array(im), npz["x"][0])
    # The same command again reuses the finished run.
    assert runner.invoke(main, args).exit_code == 0
    result = runner.invoke(main, ["train", "--dataset", "mnist", "--model", "mlp", "--width", "3", "--out", str(tmp_path / "x")])
    assert result.exit_code != 0 and "does not take ['width']" in result.output


def test_cli_resume_keeps_the_runs_config(tmp_path):
    runner = CliRunner()
    base = ["train", "--dataset", "4clusters", "--model", "toy", "--epochs", "1", "--batch-size", "5000",
            "--device", "cpu", "--quiet", "--out", str(tmp_path / "r")]
    assert runner.invoke(main, base).exit_code == 0
    result = runner.invoke(main, ["train", "--resume", str(tmp_path / "r"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert load_run(tmp_path / "r").config.epochs == 1 and load_run(tmp_path / "r").step == 10
    result = runner.invoke(main, ["train", "--resume", str(tmp_path / "r"), "--epochs", "2", "--quiet"])
    assert result.exit_code == 0 and load_run(tmp_path / "r").step == 20
    result = runner.invoke(main, ["train", "--resume", str(tmp_path / "r"), "--objective", "wgan"])
    assert result.exit_code != 0 and "only --epochs, --device" in result.output and "--objective" in result.output
