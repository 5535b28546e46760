"""Bring your own GAN: a generator and discriminator from a module outside latentrw become a run
that every part of the pipeline works on, and a checkpoint alone never imports outside code."""

import sys
import textwrap

import pytest
import torch
from helpers import TINY_W
from safetensors.torch import save_file

from latentrw.bench import BenchConfig, bench
from latentrw.errors import CheckpointError
from latentrw.models import plugin
from latentrw.priors import MappedPrior
from latentrw.reweight import ReweightConfig
from latentrw.run import import_run, load_run
from latentrw.sample import make_sampler
from latentrw.samplers.calibrate import CalibrationConfig, calibrate
from latentrw.w_trainer import WTrainer

MODULE = '''
import torch
from torch import nn

def make_g(z_dim=2, width=16):
    hidden = int(torch.tensor(width).item())  # needs real tensors: fails on the meta device
    return nn.Sequential(nn.Linear(z_dim, hidden), nn.ReLU(), nn.Linear(hidden, 2))

class Critic(nn.Module):
    def __init__(self, width=16):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, width), nn.ReLU(), nn.Linear(width, 1))

    def forward(self, x):
        return self.net(x).squeeze(1)

def make_d(width=16):
    return Critic(width)

class ColumnCritic(Critic):  # (N, 1), as StyleGAN2's D gives: one logit per sample
    def forward(self, x):
        return self.net(x)

class RowCritic(Critic):  # (1, N): two numbers for two samples, but not one per row
    def forward(self, x):
        return self.net(x).T

def make_column_d(width=16):
    return ColumnCritic(width)

def make_row_d(width=16):
    return RowCritic(width)

def not_a_module():
    return 3

def make_mapping(z_dim=2, w_dim=3):  # StyleGAN-like z -> W in front of G
    hidden = int(torch.tensor(16).item())
    return nn.Sequential(nn.Linear(z_dim, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, w_dim))
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
    save_file(tiny_outside.make_g(z_dim=3, width=8).state_dict(), str(tmp_path / "g3.safetensors"))
    save_file(tiny_outside.make_mapping().state_dict(), str(tmp_path / "map.safetensors"))
    return tmp_path


def test_outside_gan_runs_the_whole_pipeline(outside):
    run_dir = import_run(outside / "run", "swissroll", 2, "tiny_outside:make_g", outside / "g.safetensors",
                         "tiny_outside:make_d", outside / "d.safetensors", g_kwargs={"width": 8})
    run = load_run(run_dir)
    assert run.config.model == "plugin" and run.G.config == {"factory": "tiny_outside:make_g", "kwargs": {"width": 8}}
    real = torch.randn(500, 2)
    WTrainer(run.G, run.D, run.prior, real, ReweightConfig(**TINY_W), run_dir / "reweight").fit()
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
    g = ("tiny_outside:make_g", outside / "g.safetensors")
    with pytest.raises(CheckpointError, match=r"gives \(1, 2\) for 2 samples; it must give one logit each"):
        import_run(*args, *g, "tiny_outside:make_row_d", outside / "d.safetensors", g_kwargs={"width": 8})
    assert import_run(*args, *g, "tiny_outside:make_column_d", outside / "d.safetensors", g_kwargs={"width": 8}).is_dir()


def test_w_sits_behind_a_frozen_mapping_network(outside):
    """The paper reweights StyleGAN2's intermediate latent: with a declared mapping, w, latentRS
    and latentGA work on mapping(z), G takes it, and the mapping never changes."""
    run_dir = import_run(outside / "run", "swissroll", 2, "tiny_outside:make_g", outside / "g3.safetensors",
                         "tiny_outside:make_d", outside / "d.safetensors", g_kwargs={"z_dim": 3, "width": 8},
                         mapping="tiny_outside:make_mapping", mapping_weights=outside / "map.safetensors")
    run = load_run(run_dir)
    assert isinstance(run.prior, MappedPrior) and run.prior.z_dim == 3 and run.prior.base.z_dim == 2
    before = {k: v.clone() for k, v in run.prior.state_dict().items()}
    real = torch.randn(500, 2)
    w, _ = WTrainer(run.G, run.D, run.prior, real, ReweightConfig(**TINY_W),
                    run_dir / "reweight").fit()
    assert w.config["z_dim"] == 3
    calibrate(run, real, CalibrationConfig(steps=20, eval_every=10, heldout=200, eval_n=100), run_dir / "calibrated")
    gen = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    pool = make_sampler("base", run, run_dir).sample(1000, generator=gen()).z
    for name in ("latent-rs", "latent-rs-ga", "latent-ga", "drs", "dot"):
        batch = make_sampler(name, run, run_dir).sample(50, generator=gen())
        assert batch.z.shape == (50, 3)
        with torch.no_grad():
            assert torch.allclose(batch.x, run.G(batch.z), atol=1e-6)  # G took the W latent
    accepted = make_sampler("latent-rs", run, run_dir).sample(50, generator=gen()).z
    assert all(torch.isclose(pool, z).all(1).any() for z in accepted)  # accepted W latents are mapped proposals
    for key, value in run.prior.state_dict().items():  # the prior that w training and sampling used
        assert torch.equal(value, before[key]), key
    for name in ("ddls", "dgflow", "truncation"):  # need a density or a Gaussian W
        with pytest.raises(ValueError, match="density|Gaussian"):
            make_sampler(name, run, run_dir)
    plugin._TRUSTED.discard("tiny_outside:make_mapping")
    with pytest.raises(CheckpointError, match="--plugin tiny_outside:make_mapping"):
        load_run(run_dir)


def test_mapping_errors_are_clear(outside):
    args = (outside / "run", "swissroll", 2, "tiny_outside:make_g", outside / "g3.safetensors")
    kw = {"g_kwargs": {"z_dim": 3, "width": 8}, "mapping": "tiny_outside:make_mapping"}
    with pytest.raises(CheckpointError, match="needs its weights"):
        import_run(*args, **kw)
    with pytest.raises(CheckpointError, match="without a mapping"):
        import_run(*args, g_kwargs=kw["g_kwargs"], mapping_weights=outside / "map.safetensors")
    import tiny_outside

    save_file(tiny_outside.make_mapping(w_dim=4).state_dict(), str(outside / "map4.safetensors"))
    with pytest.raises(CheckpointError, match="does not take 4-d latents"):  # G wants 3-d W latents
        import_run(*args, **kw, mapping_weights=outside / "map4.safetensors", mapping_kwargs={"w_dim": 4})
    with pytest.raises(CheckpointError, match="does not take 5-d latents from the gaussian"):  # it takes 2-d z
        import_run(outside / "run", "swissroll", 5, "tiny_outside:make_g", outside / "g3.safetensors",
                   **kw, mapping_weights=outside / "map.safetensors")



def test_mapped_prior_takes_any_frozen_module():
    """In Python any module can be the mapping; it stays frozen and in eval mode (no dropout)."""
    from torch import nn

    from latentrw.priors import GaussianPrior

    mapping = nn.Sequential(nn.Linear(2, 4), nn.Dropout(0.5))
    prior = MappedPrior(GaussianPrior(2), mapping, "gaussian").train()
    assert prior.z_dim == 4 and not mapping.training and not any(p.requires_grad for p in mapping.parameters())
    a, b = (prior.sample(5, torch.Generator().manual_seed(0)) for _ in range(2))
    assert torch.equal(a, b) and not a.requires_grad
    with pytest.raises(NotImplementedError, match="no density"):
        prior.log_prob(a)
