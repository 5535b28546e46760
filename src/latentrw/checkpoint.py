"""Self-describing checkpoints: safetensors weights plus a JSON header.

Every ``*.safetensors`` file written here carries, in its metadata under the key
``latentrw``, the JSON needed to rebuild what it holds (model family, role,
constructor config, training step). Nothing is ever unpickled.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

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


def build_from_header(make: Callable[[], torch.nn.Module], tensors: dict[str, torch.Tensor], path: Path,
                      what: str = "a latentrw model") -> torch.nn.Module:
    """``make()`` (a constructor fed from a file's header) loaded with the file's ``tensors``,
    without trusting the header: the module is first built on the meta device, which allocates
    nothing, and its parameter names and shapes must equal the file's before it is built for
    real. So a header cannot make latentrw allocate more than the file itself holds, and a
    header that does not build (a negative or absurd size) is a :class:`CheckpointError`."""
    try:
        with torch.device("meta"):
            probe = make()
    except (KeyError, TypeError, ValueError, RuntimeError, OverflowError) as exc:
        raise CheckpointError(f"{path}: header does not describe {what} ({type(exc).__name__}: {exc})") from exc
    want = {k: tuple(v.shape) for k, v in probe.state_dict().items()}
    have = {k: tuple(v.shape) for k, v in tensors.items()}
    if want != have:
        diff = sorted(set(want.items()) ^ set(have.items()))[:4]
        raise CheckpointError(f"{path}: weights do not fit the model its header describes (first differences, "
                              f"name and shape: {diff})")
    module = make()
    load_state_into(module, tensors, path)
    return module


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
