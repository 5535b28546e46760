"""Plug-in models: a generator or discriminator written outside latentrw, named by an import
path ``package.module:factory`` and rebuilt by calling ``factory(**kwargs)``.

A checkpoint of family ``plugin`` stores ``{"factory": "pkg.mod:fn", "kwargs": {...}}`` as its
config. Importing a module runs its code, so a file alone never triggers it: a factory must
first be *trusted* in this process — :func:`trust` in Python, ``latentrw --plugin SPEC ...`` on
the command line, or ``LATENTRW_PLUGINS="spec1,spec2"`` — otherwise loading the checkpoint is a
:class:`~latentrw.errors.CheckpointError` that names the factory and how to trust it.
"""

from __future__ import annotations

import importlib
import os
import re

from torch import nn

from latentrw.errors import CheckpointError

_TRUSTED: set[str] = set()
_SPEC = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def check_spec(spec: str) -> str:
    if not isinstance(spec, str) or not _SPEC.match(spec):
        raise CheckpointError(f"{spec!r} is not an import path of the form package.module:factory")
    return spec


def trust(spec: str) -> None:
    """Allow checkpoints to rebuild models with the factory ``spec`` (``package.module:factory``)."""
    _TRUSTED.add(check_spec(spec))


def trusted(spec: str) -> bool:
    env = {s.strip() for s in os.environ.get("LATENTRW_PLUGINS", "").split(",") if s.strip()}
    return spec in _TRUSTED or spec in env


def build_plugin(config: dict) -> nn.Module:
    """Call the trusted factory of ``config`` with its kwargs; the result must be an nn.Module."""
    if not isinstance(config, dict) or not isinstance(config.get("kwargs", {}), dict):
        raise CheckpointError(f"plug-in config {config!r} is not {{'factory': 'pkg.mod:fn', 'kwargs': {{...}}}}")
    spec = check_spec(config.get("factory"))
    if not trusted(spec):
        raise CheckpointError(f"this checkpoint's model is built by the plug-in factory {spec}, which runs code "
                              f"from outside latentrw: trust it with `latentrw --plugin {spec} ...`, "
                              f"LATENTRW_PLUGINS={spec} or latentrw.models.plugin.trust({spec!r})")
    module_name, _, fn_name = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), fn_name)
    except (ImportError, AttributeError) as exc:
        raise CheckpointError(f"plug-in factory {spec} cannot be imported ({exc}); put its package on PYTHONPATH") from exc
    model = factory(**config.get("kwargs", {}))
    if not isinstance(model, nn.Module):
        raise CheckpointError(f"plug-in factory {spec} returned {type(model).__name__}, not a torch.nn.Module")
    model.config = {"factory": spec, "kwargs": dict(config.get("kwargs", {}))}
    return model
