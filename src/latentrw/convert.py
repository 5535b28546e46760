"""Turn a PyTorch ``.pt``/``.pth`` weights file into safetensors, explicitly and once.

latentrw never unpickles a file it is handed; this is the one documented exception, run by the
user on a file they trust: ``torch.load(..., weights_only=True)`` (PyTorch's restricted
unpickler, which builds only tensors and plain containers and refuses any other object), then
every tensor is written with :func:`latentrw.checkpoint.save_tensors`. Nested dicts are
flattened with dotted names (``{"G": {"fc.weight": t}}`` → ``G.fc.weight``); ``key`` selects one
entry first (e.g. ``state_dict`` or ``generator``).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

from latentrw.checkpoint import save_tensors
from latentrw.errors import CheckpointError
from latentrw.fileio import sha256_file


def _flatten(obj, prefix: str, out: dict[str, torch.Tensor]) -> None:
    if isinstance(obj, torch.Tensor):
        out[prefix] = obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _flatten(v, f"{prefix}.{i}" if prefix else str(i), out)
    # numbers, strings and None (epoch counters, names) carry no weights: skipped


def convert(src: Path | str, dst: Path | str, key: str | None = None) -> dict[str, torch.Tensor]:
    """Convert ``src`` (a torch.save file of tensors) into ``dst`` (safetensors); returns the tensors."""
    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise CheckpointError(f"{src}: no such file")
    try:
        obj = torch.load(src, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as exc:
        raise CheckpointError(f"{src}: not a weights-only PyTorch file ({type(exc).__name__}: {exc}). Only tensors "
                              "and plain containers are read; re-save the state_dict alone with "
                              "torch.save(model.state_dict(), path)") from exc
    if key is not None:
        if not isinstance(obj, dict) or key not in obj:
            keys = sorted(map(str, obj)) if isinstance(obj, dict) else []
            raise CheckpointError(f"{src}: no entry {key!r}; entries: {', '.join(keys) or 'none (not a dict)'}")
        obj = obj[key]
    tensors: dict[str, torch.Tensor] = {}
    _flatten(obj, "", tensors)
    if not tensors:
        raise CheckpointError(f"{src}: holds no tensors" + ("" if key else "; pass --key to pick an entry"))
    # clone: tied weights (one tensor under two names, e.g. a model and its EMA copy) become two
    try:
        save_tensors(dst, {k: v.detach().clone().contiguous() for k, v in tensors.items()},
                     {"converted_from": src.name, "source_sha256": sha256_file(src), "key": key})
    except (RuntimeError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{src}: cannot write its tensors as safetensors ({exc})") from exc
    return tensors
