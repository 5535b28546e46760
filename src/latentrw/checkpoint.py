"""Self-describing checkpoints: safetensors weights plus a JSON header.

Every ``*.safetensors`` file written here carries, in its metadata under the key
``latentrw``, the JSON needed to rebuild what it holds (model family, role,
constructor config, training step). Nothing is ever unpickled.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load_bytes
from safetensors.torch import save as st_save_bytes

from latentrw.errors import CheckpointError
from latentrw.fileio import atomic_write_bytes

META_KEY = "latentrw"


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], header: dict[str, Any]) -> None:
    """Atomically write ``tensors`` with ``header`` (JSON-serialisable) as metadata."""
    flat = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    data = st_save_bytes(flat, metadata={META_KEY: json.dumps(header, sort_keys=True)})
    atomic_write_bytes(Path(path), data)


def load_tensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a file written by :func:`save_tensors`; any defect is a :class:`CheckpointError`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    raw = path.read_bytes()
    try:
        tensors = st_load_bytes(raw)
        header_len = int.from_bytes(raw[:8], "little")
        meta = json.loads(raw[8 : 8 + header_len]).get("__metadata__", {})
        header = json.loads(meta[META_KEY])
    except (SafetensorError, ValueError, KeyError, TypeError, OSError, RuntimeError) as exc:
        raise CheckpointError(
            f"{path}: not a readable latentrw checkpoint ({type(exc).__name__}: {exc}). "
            "The file is corrupt or truncated: restore it from a copy or retrain."
        ) from exc
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: checkpoint header is not a JSON object")
    return tensors, header


def save_module(path: Path, module: torch.nn.Module, header: dict[str, Any]) -> None:
    save_tensors(path, module.state_dict(), header)


def _structure_sizes(config: Any) -> list[int]:
    """The depths and list lengths in a header's config: each asks for that many layers."""
    if isinstance(config, dict):
        return [v for k, v in config.items() if k == "depth" and isinstance(v, int)] + \
            [n for v in config.values() for n in _structure_sizes(v)]
    if isinstance(config, (list, tuple)):
        return [len(config)] + [n for v in config for n in _structure_sizes(v)]
    return []


def build_from_header(make: Callable[[], torch.nn.Module], tensors: dict[str, torch.Tensor], path: Path,
                      what: str = "a latentrw model", config: Any = None, probe: bool = True) -> torch.nn.Module:
    """``make()`` (a constructor fed from a file's header, ``config``) loaded with the file's
    ``tensors``, without trusting the header. No depth or list in ``config`` may exceed the
    file's tensor count (each layer holds weights), and the module is first built on the meta
    device, which allocates nothing: its parameter names and shapes must equal the file's before
    it is built for real. So a header cannot make latentrw build more layers or larger weights
    than its file holds, and one that does not build (a negative or absurd size) is a
    :class:`CheckpointError`. ``probe=False`` skips the meta build, for plug-in factories: their
    code is trusted and may need real tensors; their shapes are still checked after the build."""
    too_big = [n for n in _structure_sizes(config) if n > max(len(tensors), 8)]
    if too_big:
        raise CheckpointError(f"{path}: header asks for {max(too_big)} layers or items but the file holds "
                              f"{len(tensors)} tensors; the header is corrupt")
    try:
        if probe:
            with torch.device("meta"):
                module = make()
            _check_shapes(module, tensors, path)
        module = make()
    except (KeyError, TypeError, ValueError, RuntimeError, OverflowError) as exc:
        raise CheckpointError(f"{path}: header does not describe {what} ({type(exc).__name__}: {exc})") from exc
    _check_shapes(module, tensors, path)
    load_state_into(module, tensors, path)
    return module


def _check_shapes(module: torch.nn.Module, tensors: dict[str, torch.Tensor], path: Path) -> None:
    want = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    have = {k: tuple(v.shape) for k, v in tensors.items()}
    if want == have:
        return
    missing = sorted((k, want[k]) for k in want.keys() - have.keys())[:3]
    unexpected = sorted((k, have[k]) for k in have.keys() - want.keys())[:3]
    shapes = sorted((k, have[k], want[k]) for k in want.keys() & have.keys() if want[k] != have[k])[:3]
    raise CheckpointError(f"{path}: weights do not fit the model its header describes. Missing from the file: "
                          f"{missing or 'none'}; unexpected in the file: {unexpected or 'none'}; shape in the "
                          f"file vs the model: {shapes or 'none'}. A file from an older latentrw or another "
                          f"model: retrain or re-export it")


def load_state_into(module: torch.nn.Module, tensors: dict[str, torch.Tensor], path: Path) -> None:
    """Load ``tensors`` into ``module`` strictly, turning shape/key mismatches into clear errors."""
    try:
        module.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: weights do not fit the model its header describes: {exc}") from exc


# -- optimizer state -------------------------------------------------------
# torch's optimizer state_dict is {"state": {i: {name: tensor | number}}, "param_groups": [...]};
# tensors go into safetensors, everything else into the JSON header.


def optimizer_to_tensors(opt: torch.optim.Optimizer, prefix: str) -> tuple[dict[str, torch.Tensor], dict]:
    sd = opt.state_dict()
    tensors, scalars = {}, {}
    for idx, state in sd["state"].items():
        for name, value in state.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}.{idx}.{name}"] = value
            else:
                scalars[f"{idx}.{name}"] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def optimizer_from_tensors(opt: torch.optim.Optimizer, prefix: str, tensors: dict[str, torch.Tensor], header: dict) -> None:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith(prefix + "."):
            idx, name = key[len(prefix) + 1 :].split(".", 1)
            state.setdefault(int(idx), {})[name] = value
    for key, value in header["scalars"].items():
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = value
    opt.load_state_dict({"state": state, "param_groups": header["param_groups"]})


def training_state(modules: dict[str, torch.nn.Module],
                   optimizers: dict[str, torch.optim.Optimizer]) -> tuple[dict[str, torch.Tensor], dict]:
    """One resumable state: each module's weights under ``NAME.`` and each optimizer's state;
    returns the tensors and the optimizers' headers (by name) for :func:`save_tensors`."""
    tensors = {f"{name}.{k}": v for name, m in modules.items() for k, v in m.state_dict().items()}
    headers = {}
    for name, opt in optimizers.items():
        t, headers[name] = optimizer_to_tensors(opt, name)
        tensors |= t
    return tensors, headers


def restore_training_state(path: Path, tensors: dict[str, torch.Tensor], header: dict,
                           modules: dict[str, torch.nn.Module], optimizers: dict[str, torch.optim.Optimizer]) -> None:
    """Load what :func:`training_state` wrote (read from ``path``) back into ``modules`` and ``optimizers``."""
    for name, module in modules.items():
        prefix = name + "."
        load_state_into(module, {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}, path)
    for name, opt in optimizers.items():
        optimizer_from_tensors(opt, name, tensors, header[name])
