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

from latentrw.checkpoint import load_state_into, load_tensors
from latentrw.config import TrainConfig
from latentrw.errors import CheckpointError
from latentrw.models import build
from latentrw.priors import Prior, build_prior

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
    try:
        module = build(header["family"], header["role"], header["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: header does not describe a latentrw model ({exc})") from exc
    load_state_into(module, tensors, path)
    return module.to(device), header


def load_prior_file(path: Path, device: torch.device | str = "cpu") -> tuple[Prior, dict]:
    tensors, header = load_tensors(path)
    try:
        prior = build_prior(header["name"], header["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: header does not describe a latentrw prior ({exc})") from exc
    load_state_into(prior, tensors, path)
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
        return Run(path, config, G.eval(), D.eval(), prior.eval(), step)
    return Run(path, config, G.eval(), D.eval(), prior.eval(), steps.pop())


def _from_train_state(path: Path, device: torch.device | str) -> tuple[torch.nn.Module, torch.nn.Module, Prior, int]:
    tensors, head = load_tensors(path)
    try:
        heads = head["models"]
        G = build(heads["G"]["family"], "generator", heads["G"]["config"])
        D = build(heads["D"]["family"], "discriminator", heads["D"]["config"])
        prior = build_prior(heads["prior"]["name"], heads["prior"]["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: header does not describe latentrw models ({exc})") from exc
    for name, module in (("G", G), ("D", D), ("prior", prior)):
        load_state_into(module, {k[len(name) + 1:]: v for k, v in tensors.items() if k.startswith(name + ".")}, path)
    return G.to(device), D.to(device), prior.to(device), int(head["step"])
