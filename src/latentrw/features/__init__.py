"""Feature extractors: the map from samples to the features every metric compares.

:mod:`latentrw.features.extractor` holds the registry (``register_extractor``, ``get_extractor``):
``mnist`` and ``fashion-mnist`` use their shipped, sha256-pinned classifier
(:mod:`latentrw.features.classifier`, weights in ``latentrw/features/weights/``), a points
dataset without an extractor of its own falls back to its coordinates. The metrics
(:mod:`latentrw.metrics`) build on this package and on :mod:`latentrw.data`; neither of those
imports the metrics.
"""

from latentrw.features.extractor import (
    EXTRACTORS,
    PINNED_SHA256,
    SHIPPED,
    WEIGHTS_DIR,
    FeatureExtractor,
    classifier_extractor,
    get_extractor,
    register_extractor,
)

__all__ = ["EXTRACTORS", "PINNED_SHA256", "SHIPPED", "WEIGHTS_DIR", "FeatureExtractor", "classifier_extractor",
           "get_extractor", "register_extractor"]
