"""Bring your own GAN: a generator and discriminator from a module outside latentrw become a run
that every part of the pipeline works on, and a checkpoint alone never imports outside code."""

import sys
import textwrap

import pytest
import torch
from safetensors.torch import save_file

from latentrw.bench import BenchConfig, bench
from latentrw.errors import CheckpointError
from latentrw.models import plugin
from latentrw.reweight import ReweightConfig, WTrainer
from latentrw.run import import_run, load_run
from latentrw.sample import make_sampler
from latentrw.samplers.calibrate import CalibrationConfig, calibrate

MODULE = '''
from torch import nn

def make_g(z_dim=2, width=16):
    return nn.Sequential(nn.Linear(z_dim, width), nn.ReLU(), nn.Linear(width, 2))

class Critic(nn.Module):
    def __init__(self, width=16):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, width), nn.ReLU(), nn.Linear(width, 1))

    def forward(self, x):
        return self.net(x).squeeze(1)

def make_d(width=16):
    return Critic(width)

def not_a_module():
    return 3
'''


@pytest.fixture
def outside(tmp_path, monkeypatch):
    """A module ``tiny_outside`` on sys.path with weights for its G and D; nothing trusted yet."""
    (tmp_path / "tiny_outside.py").write_text(textwrap.dedent(MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(plugin, "_TRUSTED", set())
    monkeypatch.delenv("LATENTRW_PLUGINS", raising=False)
    sys.modules.pop("tiny_outside", None)
    import tiny_outside

    torch.manual_seed(0)
    save_file(tiny_outside.make_g(width=8).state_dict(), str(tmp_path / "g.safetensors"))
    save_file(tiny_outside.make_d().state_dict(), str(tmp_path / "d.safetensors"))
    return tmp_path


def test_outside_gan_runs_the_whole_pipeline(outside):
    run_dir = import_run(outside / "run", "swissroll", 2, "tiny_outside:make_g", outside / "g.safetensors",
                         "tiny_outside:make_d", outside / "d.safetensors", g_kwargs={"width": 8})
    run = load_run(run_dir)
    assert run.config.model == "plugin" and run.G.config == {"factory": "tiny_outside:make_g", "kwargs": {"width": 8}}
    real = torch.randn(500, 2)
    WTrainer(run.G, run.D, run.prior, real, ReweightConfig(steps=30, n_d=1, batch_size=64), run_dir / "reweight").fit()
    calibrate(run, real, CalibrationConfig(steps=20, eval_every=10, heldout=200, eval_n=100), run_dir / "calibrated")
    for name in ("latent-rs", "drs", "dot"):
        batch = make_sampler(name, run, run_dir).sample(50, generator=torch.Generator().manual_seed(0))
        assert batch.x.shape == (50, 2)
    results = bench(BenchConfig("synthetic", samplers=("base", "latent-rs", "sir"), seeds=(0,), n=200,
                                checkpoints=(str(run_dir),)), outside / "bench" / "results.jsonl", progress=lambda s: None)
    assert results.read_text().count("\n") == 4  # the floor and three samplers


def test_a_checkpoint_alone_never_imports_outside_code(outside):
    import_run(outside / "run", "swissroll", 2, "tiny_outside:make_g", outside / "g.safetensors",
               g_kwargs={"width": 8})
    plugin._TRUSTED.clear()
    with pytest.raises(CheckpointError, match="--plugin tiny_outside:make_g"):
        load_run(outside / "run")
    plugin.trust("tiny_outside:make_g")
    assert list(load_run(outside / "run").D.config["in_shape"]) == [2]  # no D given: a fresh toy critic


def test_import_errors_are_clear(outside):
    args = (outside / "run", "swissroll", 2)
    with pytest.raises(CheckpointError, match="not a torch.nn.Module"):
        import_run(*args, "tiny_outside:not_a_module", outside / "g.safetensors")
    with pytest.raises(CheckpointError, match="package.module:factory"):
        import_run(*args, "tiny_outside.make_g", outside / "g.safetensors")
    with pytest.raises(CheckpointError, match="cannot be imported"):
        import_run(*args, "no_such_module:make_g", outside / "g.safetensors")
    with pytest.raises(CheckpointError, match="shape"):  # wrong weights for width 16
        import_run(*args, "tiny_outside:make_g", outside / "g.safetensors")
    with pytest.raises(CheckpointError, match="samples of shape"):
        import_run(outside / "run", "mnist", 2, "tiny_outside:make_g", outside / "g.safetensors", g_kwargs={"width": 8})
