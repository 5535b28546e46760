"""Typed training configuration: one source of defaults, saved resolved with every run."""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from latentrw.errors import ConfigError


def _finite(x: int | float) -> bool:
    try:
        return math.isfinite(x)
    except OverflowError:  # an integer too large for a float
        return False


def _check_type(name: str, annotation: str, value: Any) -> None:
    """Refuse a JSON value of the wrong type for field ``name`` (annotation as written, e.g.
    ``"float | None"``), so a hand-edited config fails with a message, not a TypeError later."""
    base, optional = annotation.split("[")[0].split("|")[0].strip(), "None" in annotation
    if value is None:
        if not optional:
            raise ConfigError(f"config key {name} must not be null")
        return
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = {"str": isinstance(value, str),
          "int": number and isinstance(value, int),
          "float": number and _finite(value),
          "dict": isinstance(value, dict) and all(isinstance(k, str) for k in value),
          "tuple": isinstance(value, (list, tuple)) and len(value) == 2
          and all(isinstance(v, (int, float)) and not isinstance(v, bool) and _finite(v) for v in value)}[base]
    if not ok:
        want = {"str": "a string", "int": "an integer", "float": "a finite number", "dict": "a JSON object",
                "tuple": "a list of two finite numbers"}[base]
        raise ConfigError(f"config key {name} must be {want}{' or null' if optional else ''}, not {value!r}")


@dataclass
class TrainConfig:
    """Everything that defines a training run. ``None`` means "the objective's /
    dataset's default"; :meth:`resolve` fills those in and validates."""

    dataset: str = "mnist"
    model: str = "mlp"
    objective: str = "ns"
    prior: str = "gaussian"
    z_dim: int | None = None  # 100 for images, 2 for 2-D sets
    epochs: int = 20
    batch_size: int = 100
    lr_g: float | None = None
    lr_d: float | None = None
    betas: tuple[float, float] | None = None
    n_critic: int | None = None
    gp_weight: float | None = None
    clip: float | None = None
    lr_decay: str = "none"  # "none" or "linear" (to 0 at the last step)
    seed: int = 0
    device: str = "auto"  # "cpu", "cuda", "auto"
    g_options: dict[str, Any] = field(default_factory=dict)  # extra generator constructor args
    d_options: dict[str, Any] = field(default_factory=dict)  # extra discriminator constructor args
    prior_options: dict[str, Any] = field(default_factory=dict)
    checkpoint_every: int = 0  # steps between checkpoints; 0 = at the end of every epoch
    log_every: int = 100  # steps between loss/NaN checks and progress-bar updates
    grid_size: int = 64  # samples in the per-epoch grid
    eval_every: int = 0  # epochs between quality evaluations logged to log.jsonl; 0 = never
    eval_n: int = 2000  # samples per such evaluation (against the holdout, else the test split)
    holdout: int = 0  # the last N training images are not trained on; they score model selection
    g_ema: float = 0.0  # decay of an exponential moving average of G's (and the prior's) weights; 0 = none
    select: str = "last"  # "last" step, or "fid": lowest FID on the holdout at the evaluations (RUN/best)

    def resolve(self, dataset_kind: str | None = None) -> TrainConfig:
        """Return a copy with every default filled in; raise :class:`ConfigError` on bad values."""
        from latentrw.data import DATASETS
        from latentrw.models import MODELS
        from latentrw.objectives import OBJECTIVES
        from latentrw.priors import PRIORS

        for value, registry in ((self.dataset, DATASETS), (self.model, MODELS),
                                (self.objective, OBJECTIVES), (self.prior, PRIORS)):
            if value not in registry:
                raise ConfigError(f"unknown {registry.kind} {value!r}; choose one of: {', '.join(registry.names())}")
        obj = OBJECTIVES.get(self.objective)
        kind = dataset_kind or DATASETS.get(self.dataset).kind
        if kind not in MODELS.get(self.model).kinds:
            raise ConfigError(f"model {self.model!r} does not fit {kind} data ({self.dataset}); "
                              f"use one of: {', '.join(n for n in MODELS if kind in MODELS.get(n).kinds)}")
        for role, opts in (("generator", self.g_options), ("discriminator", self.d_options)):
            cls = getattr(MODELS.get(self.model), role)
            allowed = set(inspect.signature(cls.__init__).parameters) - {"self", "z_dim", "in_shape", "out_shape"}
            if set(opts) - allowed:
                raise ConfigError(f"{self.model} {role} does not take {sorted(set(opts) - allowed)}; "
                                  f"it takes {sorted(allowed)}")
        c = dataclasses.replace(self)
        c.z_dim = c.z_dim if c.z_dim is not None else (100 if kind == "image" else 2)
        c.lr_g = c.lr_g if c.lr_g is not None else obj.lr_g
        c.lr_d = c.lr_d if c.lr_d is not None else obj.lr_d
        c.betas = tuple(c.betas) if c.betas is not None else obj.betas
        c.n_critic = c.n_critic if c.n_critic is not None else obj.n_critic
        c.gp_weight = c.gp_weight if c.gp_weight is not None else obj.gp_weight
        c.clip = c.clip if c.clip is not None else obj.clip
        checks = [
            (c.epochs >= 1, "epochs must be >= 1"),
            (c.batch_size >= 1, "batch_size must be >= 1"),
            (c.z_dim >= 1, "z_dim must be >= 1"),
            (c.lr_g > 0 and c.lr_d > 0, "learning rates must be > 0"),
            (c.n_critic >= 1, "n_critic must be >= 1"),
            (c.gp_weight >= 0 and c.clip >= 0, "gp_weight and clip must be >= 0"),
            (c.lr_decay in ("none", "linear"), "lr_decay must be 'none' or 'linear'"),
            (c.device in ("cpu", "cuda", "auto") or c.device.startswith("cuda:"), "device must be cpu, cuda or auto"),
            (c.checkpoint_every >= 0 and c.log_every >= 1, "checkpoint_every >= 0 and log_every >= 1"),
            (c.eval_every >= 0 and c.eval_n >= 10, "eval_every >= 0 and eval_n >= 10"),
            (c.holdout >= 0 and 0 <= c.g_ema < 1, "holdout must be >= 0 and g_ema in [0, 1)"),
            (c.select in ("last", "fid"), "select must be 'last' or 'fid'"),
            (c.select != "fid" or (c.holdout > 0 and c.eval_every > 0),
             "select='fid' needs holdout > 0 (the test split never selects a model) and eval_every > 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        return c

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["betas"] = list(d["betas"]) if d["betas"] is not None else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        if not isinstance(d, dict):
            raise ConfigError("a training config must be a JSON object")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown config keys {unknown}; known keys: {sorted(known)}")
        for f in dataclasses.fields(cls):
            if f.name in d:
                _check_type(f.name, f.type, d[f.name])
        d = dict(d)
        if d.get("betas") is not None:
            d["betas"] = tuple(d["betas"])
        return cls(**d)

    @classmethod
    def load(cls, path: Path) -> TrainConfig:
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except (OSError, ValueError, TypeError) as exc:  # ValueError: bad JSON or not UTF-8
            raise ConfigError(f"{path}: cannot read the training config ({exc})") from exc
