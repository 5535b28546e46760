"""Shipped checkpoints: trained runs inside the package, so nothing must be trained first.

Each lives in ``latentrw/checkpoints/NAME/`` and is an ordinary run directory
(``config.json``, ``G``/``D``/``prior`` safetensors, ``log.jsonl``) with its trained w in
``reweight/`` and its calibrated discriminator in ``calibrated/``, so every sampler finds what
it needs at the default places. Every file's sha256 is pinned in ``checkpoints/MANIFEST.json``
and checked before the directory is handed out. ``scripts/ship_checkpoint.py`` writes them;
``checkpoints/README.md`` records how each was trained.
"""

from __future__ import annotations

import json
from pathlib import Path

from latentrw.errors import CheckpointError
from latentrw.fileio import sha256_file

CHECKPOINTS_DIR = Path(__file__).parent / "checkpoints"
MANIFEST = "MANIFEST.json"


def manifest(root: Path = CHECKPOINTS_DIR) -> dict[str, dict[str, dict]]:
    """``{name: {relative file: {"sha256": ..., "bytes": ...}}}`` of the shipped checkpoints."""
    path = root / MANIFEST
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path} is not valid JSON ({exc}); restore it from the repository") from exc


def available(root: Path = CHECKPOINTS_DIR) -> list[str]:
    """Names of the shipped checkpoints."""
    return sorted(manifest(root))


def shipped(name: str, root: Path = CHECKPOINTS_DIR) -> Path:
    """The directory of shipped checkpoint ``name``, after checking every file's sha256."""
    files = manifest(root).get(name)
    if files is None:
        raise CheckpointError(f"no shipped checkpoint {name!r}; available: {', '.join(available(root)) or 'none'}")
    directory = root / name
    for rel, pin in files.items():
        path = directory / rel
        if not path.is_file():
            raise CheckpointError(f"{path} is missing from the shipped checkpoint {name}; reinstall latentrw "
                                  f"(from a clone: git checkout -- {path})")
        stat = path.stat()
        seen = (pin["sha256"], stat.st_size, stat.st_mtime_ns)
        if _VERIFIED.get(path) == seen:  # hashed already in this process, unchanged since
            continue
        digest = sha256_file(path)
        if digest != pin["sha256"]:
            raise CheckpointError(f"{path}: sha256 {digest} does not match the pinned {pin['sha256']}; the file is "
                                  f"corrupt or was replaced (a git-lfs pointer?): reinstall latentrw")
        _VERIFIED[path] = seen
    return directory


_VERIFIED: dict[Path, tuple] = {}


def resolve(spec: str | Path, root: Path = CHECKPOINTS_DIR) -> tuple[str, Path]:
    """``(name, directory)`` of a checkpoint argument: a shipped checkpoint's name (verified), else
    a run directory. A bare shipped name means the shipped checkpoint even where a folder of that
    name exists; write ``./NAME`` for the folder. Every command resolves names this way."""
    text = str(spec)
    if not isinstance(spec, Path) and text in available(root):  # a Path is a folder, as written
        return text, shipped(text, root)
    path = Path(text)
    if not path.exists():
        raise CheckpointError(f"{text!r} is neither an existing path nor a shipped checkpoint "
                              f"({', '.join(available(root))})")
    return path.resolve().name, path


def pin(root: Path = CHECKPOINTS_DIR) -> dict:
    """Recompute the manifest from the files under ``root`` (every sub-directory a checkpoint)."""
    out = {}
    for directory in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        out[directory.name] = {str(f.relative_to(directory)): {"sha256": sha256_file(f), "bytes": f.stat().st_size}
                               for f in sorted(directory.rglob("*")) if f.is_file()}
    (root / MANIFEST).write_text(json.dumps(out, indent=1) + "\n")
    return out
