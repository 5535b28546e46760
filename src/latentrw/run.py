"""A run directory and the models in it.

Layout (everything can be rebuilt from the directory alone)::

    RUN/config.json            the resolved TrainConfig
    RUN/G.safetensors          generator weights  + {family, role, config, step}
    RUN/D.safetensors          discriminator
    RUN/prior.safetensors      prior parameters/buffers + {name, config, step}
    RUN/train_state.safetensors optimizers and RNG states, for --resume
    RUN/log.jsonl              one JSON line per epoch
    RUN/samples/epoch_NNNN.png sample grid after each epoch
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from latentrw.checkpoint import build_from_header, load_state_into, load_tensors
from latentrw.config import TrainConfig
from latentrw.errors import CheckpointError
from latentrw.models import PLUGIN, build
from latentrw.priors import MAPPED, MappedPrior, Prior, build_prior

CONFIG, LOG = "config.json", "log.jsonl"
G_FILE, D_FILE, PRIOR_FILE, STATE_FILE = "G.safetensors", "D.safetensors", "prior.safetensors", "train_state.safetensors"


@dataclass
class Run:
    """The trained models of a run directory."""

    path: Path
    config: TrainConfig
    G: torch.nn.Module
    D: torch.nn.Module
    prior: Prior
    step: int


def load_model_file(path: Path, device: torch.device | str = "cpu") -> tuple[torch.nn.Module, dict]:
    """Rebuild a generator or discriminator from its safetensors file alone."""
    tensors, header = load_tensors(path)
    module = build_from_header(lambda: build(header["family"], header["role"], header["config"]), tensors, path,
                               config=header.get("config"), probe=header.get("family") != PLUGIN)
    return module.to(device), header


def load_prior_file(path: Path, device: torch.device | str = "cpu") -> tuple[Prior, dict]:
    tensors, header = load_tensors(path)
    prior = build_from_header(lambda: build_prior(header["name"], header["config"]), tensors, path, "a latentrw prior",
                              config=header.get("config"), probe=header.get("name") != MAPPED)
    return prior.to(device), header


def load_run(path: Path | str, device: torch.device | str = "cpu") -> Run:
    """Load the latest checkpoint of a run directory (models in eval mode)."""
    path = Path(path)
    if not (path / CONFIG).is_file() or not (path / G_FILE).is_file():
        raise CheckpointError(
            f"{path}: not a trained run directory (needs {CONFIG} and {G_FILE}); "
            "train one with `latentrw train --out DIR`"
        )
    config = TrainConfig.load(path / CONFIG)
    G, g_head = load_model_file(path / G_FILE, device)
    D, d_head = load_model_file(path / D_FILE, device)
    prior, p_head = load_prior_file(path / PRIOR_FILE, device)
    steps = {g_head.get("step"), d_head.get("step"), p_head.get("step")}
    if len(steps) != 1:
        # Killed while exporting G/D/prior: the training state, written first and atomically,
        # holds all three at one step.
        if not (path / STATE_FILE).is_file():
            raise CheckpointError(f"{path}: G, D and prior come from different steps {sorted(steps)} and there "
                                  f"is no {STATE_FILE} to recover from")
        G, D, prior, step = _from_train_state(path / STATE_FILE, device)
    else:
        step = steps.pop()
    g_in = getattr(G, "config", {}).get("z_dim")
    if g_in is not None and g_in != prior.z_dim:  # a parameter-free prior's size comes from its header alone
        raise CheckpointError(f"{path}: the prior draws {prior.z_dim}-d latents but G takes {g_in}-d ones; "
                              f"{PRIOR_FILE} does not belong to this run")
    return Run(path, config, G.eval(), D.eval(), prior.eval(), step)


def _from_train_state(path: Path, device: torch.device | str) -> tuple[torch.nn.Module, torch.nn.Module, Prior, int]:
    tensors, head = load_tensors(path)
    heads = head.get("models")
    if not isinstance(heads, dict) or not all(isinstance(heads.get(k), dict) for k in ("G", "D", "prior")):
        raise CheckpointError(f"{path}: header does not describe latentrw models (no G, D and prior)")
    makers = {"G": lambda: build(heads["G"]["family"], "generator", heads["G"]["config"]),
              "D": lambda: build(heads["D"]["family"], "discriminator", heads["D"]["config"]),
              "prior": lambda: build_prior(heads["prior"]["name"], heads["prior"]["config"])}
    G, D, prior = (build_from_header(make, {k[len(name) + 1:]: v for k, v in tensors.items() if k.startswith(name + ".")},
                                     path, f"the {name} of a latentrw run", config=heads[name].get("config"))
                   for name, make in makers.items())
    try:
        step = int(head["step"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: header holds no training step ({exc})") from exc
    return G.to(device), D.to(device), prior.to(device), step


def _outside_module(spec: str, kwargs: dict | None, weights: Path | str) -> torch.nn.Module:
    """Build ``spec``'s module (trusted: you named it) and load its safetensors state dict."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from latentrw.models.plugin import build_plugin, trust

    trust(spec)
    model = build_plugin({"factory": spec, "kwargs": kwargs or {}})
    try:
        tensors = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{weights}: not a safetensors state dict ({exc}); `latentrw convert` turns a "
                              f".pt into one") from exc
    load_state_into(model, tensors, Path(weights))
    return model.eval()


def _check_shapes(G: torch.nn.Module, D: torch.nn.Module, prior: Prior, sample_shape: tuple, generator: str,
                  dataset: str) -> None:
    """What the rest of latentrw relies on: G takes the prior's latents to ``sample_shape``, and D
    gives one logit per sample, as (N,) or (N, 1)."""
    with torch.no_grad():
        try:
            x = G(prior.sample(2, torch.Generator().manual_seed(0)))
        except RuntimeError as exc:
            raise CheckpointError(f"{generator} does not take {prior.z_dim}-d latents: {exc}") from exc
        if tuple(x.shape[1:]) != sample_shape:
            raise CheckpointError(f"{generator} makes samples of shape {tuple(x.shape[1:])}, but {dataset} samples "
                                  f"are {sample_shape}")
        d = D(x)
    if tuple(d.shape) not in ((2,), (2, 1)):
        raise CheckpointError(f"the discriminator gives {tuple(d.shape)} for 2 samples; it must give one logit each, "
                              "as (N,) or (N, 1)")


def import_run(out: Path | str, dataset: str, z_dim: int, generator: str, g_weights: Path | str,
               discriminator: str | None = None, d_weights: Path | str | None = None, prior: str = "gaussian",
               g_kwargs: dict | None = None, d_kwargs: dict | None = None, gp_weight: float | None = None,
               mapping: str | None = None, mapping_weights: Path | str | None = None,
               mapping_kwargs: dict | None = None) -> Path:
    """Make a run directory around a GAN trained outside latentrw, so that every command
    (reweight, calibrate, sample, evaluate, bench --checkpoints DIR) works on it.

    ``generator``/``discriminator`` are import paths ``package.module:factory`` (trusted here,
    since you name them), called with ``g_kwargs``/``d_kwargs``; ``g_weights``/``d_weights`` are
    plain safetensors state dicts (``latentrw convert`` makes one from a ``.pt``). G must map
    ``z_dim``-dimensional latents from ``prior`` to samples of ``dataset`` in model scale
    ([-1, 1] images of shape (1, 28, 28), or 2-D points); D must give one logit per sample.
    Without a discriminator a fresh latentrw one (mlp for images, toy for points) stands in:
    calibration then trains it from scratch and DOT, which needs a trained critic, is meaningless.
    ``gp_weight`` is the gradient penalty D was trained with, if any (the reweighting critic and
    the calibration keep it).

    ``mapping`` (with ``mapping_weights``, ``mapping_kwargs``) declares a frozen mapping network
    in front of G, as StyleGAN's z -> W: G then takes ``mapping(z)``, and w, latentRS and
    latentGA work on that intermediate latent (:class:`~latentrw.priors.MappedPrior`)."""
    from latentrw.checkpoint import save_module, save_tensors
    from latentrw.data import DATASETS, load_dataset
    from latentrw.fileio import atomic_write_json
    from latentrw.models import MODELS

    out = Path(out)
    if dataset not in DATASETS:
        raise CheckpointError(f"unknown dataset {dataset!r}; choose one of: {', '.join(DATASETS.names())}")
    data = load_dataset(dataset)
    G = _outside_module(generator, g_kwargs, g_weights)
    if discriminator is not None:
        if d_weights is None:
            raise CheckpointError("a discriminator needs its weights (d_weights)")
        D, d_head = _outside_module(discriminator, d_kwargs, d_weights), {"family": PLUGIN}
    else:
        family = "mlp" if data.kind == "image" else "toy"
        D = MODELS.get(family).discriminator(in_shape=data.sample_shape)
        d_head = {"family": family}
    prior_model = build_prior(prior, {"z_dim": z_dim})
    if mapping is None and (mapping_weights is not None or mapping_kwargs):
        raise CheckpointError("mapping weights or kwargs given without a mapping factory (--mapping MODULE:FACTORY)")
    if mapping is not None:
        if mapping_weights is None:
            raise CheckpointError("a mapping network needs its weights (mapping_weights)")
        try:
            prior_model = MappedPrior(prior_model, _outside_module(mapping, mapping_kwargs, mapping_weights), prior)
        except (RuntimeError, ValueError) as exc:
            raise CheckpointError(f"the mapping {mapping} does not take {z_dim}-d latents from the {prior} prior "
                                  f"to flat vectors: {exc}") from exc
    _check_shapes(G, D, prior_model, data.sample_shape, f"{generator}{' (after the mapping)' if mapping else ''}",
                  dataset)
    out.mkdir(parents=True, exist_ok=True)
    config = TrainConfig(dataset=dataset, model=PLUGIN, prior=prior, z_dim=z_dim, gp_weight=gp_weight, epochs=1)
    atomic_write_json(out / CONFIG, config.to_dict())
    save_module(out / G_FILE, G, {"family": PLUGIN, "role": "generator", "config": G.config, "step": 0})
    save_module(out / D_FILE, D, {**d_head, "role": "discriminator", "config": D.config, "step": 0})
    prior_name = MAPPED if mapping is not None else prior
    save_tensors(out / PRIOR_FILE, prior_model.state_dict(), {"name": prior_name, "config": prior_model.config, "step": 0})
    return out
