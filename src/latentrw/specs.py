"""The small text formats of options on command lines, parsed one way everywhere:
``SAMPLER:KEY=VALUE`` (a sampler option) and ``SAMPLER:KNOB=V1,V2,...`` (a sweep)."""

from __future__ import annotations

import json


def parse_value(text: str):
    """A JSON value (numbers, true/false/null, lists, quoted strings), else the text itself
    (``.5`` and ``1e-3`` are numbers, ``js`` is a string)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        try:
            return float(text)
        except ValueError:
            return text


def parse_option(spec: str) -> tuple[str, str, object]:
    """``ddls:steps=100`` → ("ddls", "steps", 100)."""
    name, _, kv = spec.partition(":")
    key, sep, value = kv.partition("=")
    if not (name and key and sep):
        raise ValueError(f"{spec!r}: write SAMPLER:KEY=VALUE")
    return name, key.strip().replace("-", "_"), parse_value(value)


def parse_options(specs) -> dict[str, dict]:
    """``["ddls:steps=100", "sir:k=5"]`` → {"ddls": {"steps": 100}, "sir": {"k": 5}}."""
    out: dict[str, dict] = {}
    for spec in specs:
        name, key, value = parse_option(spec)
        out.setdefault(name, {})[key] = value
    return out


def parse_sweep(spec: str) -> tuple[str, str, tuple]:
    """``drs:gamma=-8,-5.5`` → ("drs", "gamma", (-8, -5.5)); values must be numbers."""
    name, _, rest = spec.partition(":")
    knob, sep, values = rest.partition("=")
    if not (name and knob and sep and values):
        raise ValueError(f"{spec!r}: write SAMPLER:KNOB=V1,V2,...")
    parsed = tuple(parse_value(v) for v in values.split(","))
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in parsed):
        raise ValueError(f"{spec!r}: sweep values must be numbers")
    return name, knob.strip().replace("-", "_"), parsed


def parse_key_values(specs: tuple[str, ...] | list[str], option: str = "--opt") -> dict:
    """``("psi=0.7", "trainer=bank")`` → ``{"psi": 0.7, "trainer": "bank"}`` (values by
    :func:`parse_value`, dashes in keys read as underscores); ``option`` names the flag in errors."""
    out = {}
    for spec in specs:
        key, sep, value = spec.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{option} {spec!r}: write KEY=VALUE")
        out[key.strip().replace("-", "_")] = parse_value(value)
    return out

