"""Feature extractors: images (or points) -> (features, logits or None).

A registry maps a dataset name to its extractor. ``mnist`` and ``fashion-mnist`` use the
classifier shipped in ``latentrw/features/weights/`` (penultimate layer ``fc1``, 128-d,
see :mod:`latentrw.features.classifier`), verified against a pinned sha256 before loading;
2-D sets use their raw coordinates. ``register_extractor`` adds a user's own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from latentrw.data import DATASETS
from latentrw.errors import CheckpointError
from latentrw.fileio import sha256_file
from latentrw.registry import Registry

WEIGHTS_DIR = Path(__file__).parent / "weights"

# sha256 of the shipped classifier files (written by `latentrw classifier train`).
SHIPPED = {
    "mnist": "mnist-classifier.safetensors",
    "fashion-mnist": "fashion-mnist-classifier.safetensors",
}
PINNED_SHA256: dict[str, str] = {
    "mnist": "1df487cfccce9b3edf9b4af92f0df162566ba25df99d0cc2ca11c5c9fbd39c14",
    "fashion-mnist": "bfc0e076fe2332337b0f9bb5106b0e063979dcb4714f4f20cd9890c699286a95",
}


@dataclass
class FeatureExtractor:
    """``fn`` maps a float batch (model scale: images in [-1, 1] (N,1,28,28), or points (N,2))
    to ``(features, logits)``; ``logits`` is None for extractors without classes."""

    name: str
    fn: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor | None]]
    dim: int
    hash: str  # identifies weights + layer, recorded with every evaluation
    device: torch.device | str = "cpu"  # where fn's model lives; batches are moved there

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, batch_size: int = 250, progress: bool = False
                 ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Features and logits of ``x`` in float64, ``batch_size`` at a time (250: the classifier's
        fastest on 2 CPU cores, 1.5× faster than 1,000, whose activations outgrow the caches)."""
        from latentrw import distributed

        n, mine = len(x), x[distributed.my_slice(len(x))]  # under torchrun each rank takes its slice
        feats, logits = [], []
        for i in tqdm(range(0, len(mine), batch_size), desc=f"features ({self.name})", disable=not progress,
                      dynamic_ncols=True, leave=False):
            f, lg = self.fn(mine[i:i + batch_size].to(self.device).float())
            feats.append(f.double().cpu())
            if lg is not None:
                logits.append(lg.double().cpu())
        if distributed.world() == 1:
            return torch.cat(feats), (torch.cat(logits) if logits else None)
        # Every rank must join the same collectives, also one whose slice is empty: probe one sample.
        f0, l0 = self.fn(x[:1].to(self.device).float())
        f = distributed.gather_rows(torch.cat(feats) if feats else f0.double().cpu()[:0], n)
        if l0 is None:
            return f, None
        return f, distributed.gather_rows(torch.cat(logits) if logits else l0.double().cpu()[:0], n)


EXTRACTORS: Registry[Callable[[], FeatureExtractor]] = Registry("feature extractor")


def register_extractor(name: str, factory: Callable[[], FeatureExtractor]) -> None:
    """Register ``factory`` (called lazily, once) as the extractor for dataset ``name``."""
    EXTRACTORS.add(name, factory)


def classifier_extractor(dataset: str, path: Path | None = None, expected_sha256: str | None = None) -> FeatureExtractor:
    """The shipped classifier of ``dataset`` (or the file at ``path``), hash-checked."""
    from latentrw.features.classifier import FEATURE_LAYER, load_classifier

    shipped = path is None
    path = WEIGHTS_DIR / SHIPPED[dataset] if shipped else Path(path)
    expected = PINNED_SHA256.get(dataset) if shipped else expected_sha256
    if shipped and expected is None:
        raise CheckpointError(f"{path}: no sha256 is pinned for the shipped {dataset} classifier; "
                              "pin it in latentrw.features.PINNED_SHA256")
    if not path.is_file():
        raise CheckpointError(f"{path}: no classifier for {dataset}; train one with "
                              f"`latentrw classifier train {dataset}`")
    digest = sha256_file(path)
    if expected is not None and digest != expected:
        raise CheckpointError(f"{path}: sha256 {digest} does not match the pinned {expected}; the shipped "
                              "classifier is corrupt or was replaced -- reinstall latentrw")
    model, header = load_classifier(path)
    return FeatureExtractor(f"{dataset}-classifier:{FEATURE_LAYER}", model.features_and_logits,
                            header["feature_dim"], f"sha256:{digest}:{FEATURE_LAYER}")


def _coordinates() -> FeatureExtractor:
    return FeatureExtractor("coordinates", lambda x: (x.flatten(1), None), 2, "coordinates")


for _name in SHIPPED:
    register_extractor(_name, lambda _n=_name: classifier_extractor(_n))

_CACHE: dict[str, FeatureExtractor] = {}


def get_extractor(dataset: str) -> FeatureExtractor:
    """The (cached) extractor registered for ``dataset``; a points dataset without one: its coordinates."""
    if dataset not in _CACHE:
        if dataset not in EXTRACTORS and dataset in DATASETS and DATASETS.get(dataset).kind == "points":
            _CACHE[dataset] = _coordinates()  # 2-D point sets are compared on their coordinates
            return _CACHE[dataset]
        if dataset not in EXTRACTORS:
            raise CheckpointError(
                f"no feature extractor is registered for dataset {dataset}: register one with "
                f"latentrw.features.register_extractor({dataset!r}, factory), or pass a classifier file "
                "to `latentrw evaluate --classifier FILE`")
        _CACHE[dataset] = EXTRACTORS.get(dataset)()
    return _CACHE[dataset]
