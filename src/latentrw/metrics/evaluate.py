"""The evaluation protocol: samples -> features -> every metric, against a reference split.

Defaults follow the paper and the MNIST literature: N = 10,000 samples against the 10,000
test images, features from the dataset's classifier (:mod:`latentrw.metrics.features`),
precision/recall with k=3, density/coverage with k=5, KID over 100 subsets of 1000, EMD
exact up to 2,500 points and otherwise the mean over 5 random subset pairs of 2,500, the
in-between threshold set on the test images so that 1 % of them fall under it.
The *floor* evaluates the first N training images the same way: what "perfect" scores.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from latentrw.data import load_dataset
from latentrw.data.cache import cache_root
from latentrw.fileio import atomic_write_json
from latentrw.metrics.classes import class_statistics, in_between_threshold
from latentrw.metrics.emd import emd, emd_subsampled
from latentrw.metrics.features import FeatureExtractor, get_extractor
from latentrw.metrics.fid import fid
from latentrw.metrics.kid import kid
from latentrw.metrics.prdc import prdc

ALL_METRICS = ("fid", "kid", "prdc", "emd", "classes")
EMD_EXACT_MAX = 2500


class Reference:
    """Features (and logits) of a dataset's reference split, computed once."""

    def __init__(self, dataset: str, split: str = "test", extractor: FeatureExtractor | None = None,
                 progress: bool = False):
        self.dataset, self.split = dataset, split
        self.extractor = extractor or get_extractor(dataset)
        data = load_dataset(dataset)
        self.data = data
        self.features, self.logits = self.extractor(data.model_input(split), progress=progress)
        self.threshold = in_between_threshold(self.logits) if self.logits is not None else None


def compute_metrics(features: torch.Tensor, logits: torch.Tensor | None, ref: Reference,
                    metrics: tuple[str, ...] = ALL_METRICS, seed: int = 0) -> dict:
    """Every requested metric of sample ``features``/``logits`` against ``ref``."""
    out: dict = {}
    real = ref.features
    if "fid" in metrics:
        out["fid"] = fid(features, real)
    if "kid" in metrics:
        out["kid"], out["kid_std"] = kid(features, real, seed=seed)
    if "prdc" in metrics:
        out.update(prdc(real, features, k_pr=3, k_dc=5))
    if "emd" in metrics:
        if max(len(features), len(real)) <= EMD_EXACT_MAX:
            out["emd"], out["emd_std"] = emd(features, real), 0.0
        else:
            out["emd"], out["emd_std"] = emd_subsampled(features, real, n=EMD_EXACT_MAX, repeats=5, seed=seed)
    if "classes" in metrics and logits is not None and ref.threshold is not None:
        out.update(class_statistics(logits, ref.threshold))
        out["in_between_threshold"] = ref.threshold
    return out


def evaluate_samples(x: torch.Tensor, dataset: str, metrics: tuple[str, ...] = ALL_METRICS, seed: int = 0,
                     ref: Reference | None = None, progress: bool = False) -> dict:
    """Metrics of samples ``x`` (model scale) of ``dataset`` against its test split."""
    ref = ref or Reference(dataset, progress=progress)
    feats, logits = ref.extractor(x, progress=progress)
    return compute_metrics(feats, logits, ref, metrics, seed)


def floor(dataset: str, n: int = 10_000, metrics: tuple[str, ...] = ALL_METRICS, ref: Reference | None = None,
          progress: bool = False) -> dict:
    """Real-vs-real floor: the first ``n`` training images against the test split (cached on disk)."""
    ref = ref or Reference(dataset, progress=progress)
    key = ref.extractor.hash.replace(":", "_").replace("/", "_")
    path = cache_root() / "floors" / f"{dataset}-{n}-{key}.json"
    if path.is_file():
        cached = json.loads(path.read_text())
        if all(m in cached["metrics"] for m in metrics):
            return cached["metrics"]
    x = ref.data.model_input("train")[:n]
    result = evaluate_samples(x, dataset, ALL_METRICS, ref=ref, progress=progress)
    atomic_write_json(path, {"dataset": dataset, "n": n, "extractor": ref.extractor.hash, "metrics": result})
    return result


def record(dataset: str, source: str, sampler: str, seed: int, n: int, metrics: dict, extractor: FeatureExtractor,
           **extra) -> dict:
    """One JSONL line: what was evaluated, how, and every number."""
    import latentrw

    return {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "dataset": dataset, "source": source, "sampler": sampler,
            "seed": seed, "n": n, "metrics": metrics, "feature_extractor": extractor.hash,
            "versions": {"latentrw": latentrw.__version__, "torch": torch.__version__, "numpy": np.__version__,
                         "python": platform.python_version()}, **extra}


def append_jsonl(path: Path, rec: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps(rec) + "\n")
