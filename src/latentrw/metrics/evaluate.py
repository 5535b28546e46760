"""The evaluation protocol: samples -> features -> every metric, against a reference split.

Defaults follow the paper and the MNIST literature (:data:`PROTOCOL`): N = 10,000 samples
against the 10,000 test images, features from the dataset's classifier
(:mod:`latentrw.features`), precision/recall with k=3, density/coverage with k=5,
KID over 100 subsets of 1000 (torch-fidelity's sampling), EMD as the mean exact EMD of 5
random subset pairs of 2,500 points (exact when both sets are that small; ``emd_sq``, asked for
by name, the same with a squared Euclidean ground cost on the same subsets), and the
in-between threshold set on the test images so that 1 % of them fall under it.

The *floor* evaluates real images the same way: the last 10,000 training images, which the
shipped classifiers never saw (they train on the first 50,000), against the test split. It
shows what a perfect generator would score.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

import latentrw
from latentrw.data import load_dataset
from latentrw.data.cache import cache_root
from latentrw.errors import DataError
from latentrw.features import SHIPPED, FeatureExtractor, get_extractor
from latentrw.features.classifier import HELDOUT_SPLIT
from latentrw.fileio import atomic_write_json
from latentrw.metrics.classes import class_statistics, in_between_threshold
from latentrw.metrics.emd import emd_subsampled
from latentrw.metrics.fid import fid
from latentrw.metrics.kid import KID_SEED, kid
from latentrw.metrics.prdc import kth_neighbour_radii, prdc

ALL_METRICS = ("fid", "kid", "prdc", "emd", "emd_sq", "classes")  # every metric; floors compute them all
DEFAULT_METRICS = ("fid", "kid", "prdc", "emd", "classes")  # what an evaluation computes unless told
PROTOCOL = {"reference": "test", "k_precision_recall": 3, "k_density_coverage": 5, "kid_subsets": 100,
            "kid_subset_size": 1000, "kid_seed": KID_SEED, "emd_n": 2500, "emd_repeats": 5,
            "in_between_quantile": 0.01}


class Reference:
    """Features (and logits) of a dataset's reference split, computed once."""

    def __init__(self, dataset: str, split: str = "test", extractor: FeatureExtractor | None = None,
                 progress: bool = False, x: torch.Tensor | None = None):
        """``split`` names the reference; ``x`` (model scale) replaces the dataset's split of
        that name, e.g. a trainer's held-out training images."""
        self.dataset, self.split = dataset, split
        self.extractor = extractor or get_extractor(dataset)
        self.data = load_dataset(dataset)
        x = self.data.model_input(split) if x is None else x
        self.features, self.logits = self.extractor(x, progress=progress)
        self.threshold = (in_between_threshold(self.logits, PROTOCOL["in_between_quantile"])
                          if self.logits is not None else None)
        self._radii: dict[tuple[int, int], torch.Tensor] = {}

    def radii(self, k_pr: int, k_dc: int) -> torch.Tensor:
        """The reference features' k-th neighbour radii for precision/recall and density/coverage,
        computed on first use and kept: every evaluation against this reference reuses them."""
        if (k_pr, k_dc) not in self._radii:
            self._radii[k_pr, k_dc] = kth_neighbour_radii(self.features, [k_pr, k_dc])
        return self._radii[k_pr, k_dc]

    def check(self, x: torch.Tensor, source: str) -> None:
        """Refuse samples whose shape is not this dataset's."""
        if tuple(x.shape[1:]) != self.data.sample_shape:
            raise DataError(f"{source}: samples have shape {tuple(x.shape[1:])} but {self.dataset} samples are "
                            f"{self.data.sample_shape}; pass the right --dataset")


_REFERENCES: dict[tuple[str, str, str], Reference] = {}


def reference(dataset: str, extractor: FeatureExtractor | None = None, progress: bool = False) -> Reference:
    """The test-split :class:`Reference` of ``dataset``, computed once per process and extractor."""
    extractor = extractor or get_extractor(dataset)
    key = (dataset, "test", extractor.hash)
    if key not in _REFERENCES:
        _REFERENCES[key] = Reference(dataset, extractor=extractor, progress=progress)
    return _REFERENCES[key]


def protocol_emd(samples, real, seed: int, squared: bool = False) -> tuple[float, float]:
    """Mean and std of the exact EMD of ``samples`` against ``real`` as every record measures it:
    :data:`PROTOCOL`'s subset size and repeats, the subsets drawn with the record's ``seed``."""
    return emd_subsampled(samples, real, n=PROTOCOL["emd_n"], repeats=PROTOCOL["emd_repeats"], seed=seed,
                          squared=squared)


def compute_metrics(features: torch.Tensor, logits: torch.Tensor | None, ref: Reference,
                    metrics: tuple[str, ...] = ALL_METRICS, seed: int = 0) -> dict:
    """Every requested metric of sample ``features``/``logits`` against ``ref``; ``seed`` draws
    the EMD subsets."""
    out: dict = {}
    real = ref.features
    if "fid" in metrics:
        out["fid"] = fid(features, real)
    if "kid" in metrics:
        out["kid"], out["kid_std"] = kid(features, real, PROTOCOL["kid_subsets"], PROTOCOL["kid_subset_size"])
        out["kid_subset_size"] = min(PROTOCOL["kid_subset_size"], len(features), len(real))
    if "prdc" in metrics:
        ks = PROTOCOL["k_precision_recall"], PROTOCOL["k_density_coverage"]
        out.update(prdc(real, features, *ks, real_radii=ref.radii(*ks)))
    if "emd" in metrics:
        out["emd"], out["emd_std"] = protocol_emd(features, real, seed)
        out["emd_n"] = min(PROTOCOL["emd_n"], len(features), len(real))
    if "emd_sq" in metrics:
        out["emd_sq"], out["emd_sq_std"] = protocol_emd(features, real, seed, squared=True)
    if "classes" in metrics and logits is not None and ref.threshold is not None:
        out.update(class_statistics(logits, ref.threshold))
        out["in_between_threshold"] = ref.threshold
    return out


def evaluate_samples(x: torch.Tensor, dataset: str, metrics: tuple[str, ...] = DEFAULT_METRICS, seed: int = 0,
                     ref: Reference | None = None, progress: bool = False, source: str = "samples") -> dict:
    """Metrics of samples ``x`` (model scale) of ``dataset`` against its test split; ``source``
    names them in errors."""
    ref = ref or reference(dataset, progress=progress)
    ref.check(x, source)
    feats, logits = ref.extractor(x, progress=progress)
    return compute_metrics(feats, logits, ref, metrics, seed)


def _protocol_key(ref: Reference, n: int) -> str:
    blob = json.dumps({"protocol": PROTOCOL, "metrics": ALL_METRICS, "extractor": ref.extractor.hash, "n": n,
                       "data": ref.data.info.get("sha256"),  # set for user datasets, whose content can change
                       "version": latentrw.__version__}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def floor(dataset: str, n: int = 10_000, ref: Reference | None = None, progress: bool = False,
          seed: int = 0) -> dict:
    """Real-vs-real floor: ``n`` held-out training images (MNIST and Fashion-MNIST: of the last
    10k, unseen by the shipped classifier; other sets: of the whole training split, which no
    extractor of ours was trained on) against the test split; fewer when the pool is smaller
    (``n_floor`` in the result says how many). ``seed`` draws the ``n`` and seeds the metrics as a
    sampler's record of that seed is seeded. Cached on disk per protocol, extractor, data, seed and version."""
    ref = ref or reference(dataset, progress=progress)
    train = ref.data.model_input("train")
    pool = train[HELDOUT_SPLIT] if dataset in SHIPPED else train
    n = min(n, len(pool))
    path = cache_root() / "floors" / f"{dataset}-{_protocol_key(ref, n)}{f'-s{seed}' if seed else ''}.json"
    if path.is_file():
        return json.loads(path.read_text())["metrics"]
    x = pool[torch.randperm(len(pool), generator=torch.Generator().manual_seed(seed))[:n]]
    result = evaluate_samples(x, dataset, ALL_METRICS, seed=seed, ref=ref, progress=progress) | {"n_floor": n}
    atomic_write_json(path, {"dataset": dataset, "n": n, "seed": seed, "extractor": ref.extractor.hash,
                             "protocol": PROTOCOL, "version": latentrw.__version__, "metrics": result})
    return result


def record(dataset: str, source: str, sampler: str | None, seed: int, n: int, metrics: dict, ref: Reference,
           **extra) -> dict:
    """One JSONL line: what was evaluated, how, and every number."""
    return {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "dataset": dataset, "source": source, "sampler": sampler,
            "seed": seed, "n": n, "metrics": metrics, "feature_extractor": ref.extractor.hash,
            "reference": {"split": ref.split, "n": len(ref.features)}, "protocol": PROTOCOL,
            "versions": {"latentrw": latentrw.__version__, "torch": torch.__version__, "numpy": np.__version__,
                         "pot": importlib.metadata.version("pot"), "python": platform.python_version()}, **extra}


def append_jsonl(path: Path, rec: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps(rec) + "\n")
