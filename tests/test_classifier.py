"""The shipped feature classifiers: integrity, accuracy and the in-between statistic."""

import pytest
import torch

from latentrw.data import load_dataset
from latentrw.errors import CheckpointError
from latentrw.features import PINNED_SHA256, SHIPPED, WEIGHTS_DIR, classifier_extractor
from latentrw.features.classifier import FEATURE_DIM, accuracy, load_classifier
from latentrw.metrics.classes import in_between_rate
from latentrw.metrics.evaluate import reference

MIN_ACCURACY = {"mnist": 0.993, "fashion-mnist": 0.91}


@pytest.mark.parametrize("dataset", sorted(SHIPPED))
def test_shipped_classifier_is_pinned_and_described(dataset):
    assert dataset in PINNED_SHA256, "pin the sha256 of every shipped classifier"
    ext = classifier_extractor(dataset)
    assert ext.dim == FEATURE_DIM and PINNED_SHA256[dataset] in ext.hash and ext.hash.endswith(":fc1")
    _, header = load_classifier(WEIGHTS_DIR / SHIPPED[dataset])
    assert header["dataset"] == dataset and header["test_accuracy"] >= MIN_ACCURACY[dataset]


def test_user_classifier_file_with_wrong_hash_is_a_clear_error(tmp_path):
    path = tmp_path / "c.safetensors"
    path.write_bytes((WEIGHTS_DIR / SHIPPED["mnist"]).read_bytes())
    with pytest.raises(CheckpointError, match="does not match the pinned"):
        classifier_extractor("mnist", path, expected_sha256="0" * 64)


@pytest.mark.slow
@pytest.mark.parametrize("dataset", sorted(SHIPPED))
def test_shipped_classifier_accuracy_on_the_test_split(dataset):
    model, _ = load_classifier(WEIGHTS_DIR / SHIPPED[dataset])
    ds = load_dataset(dataset)
    assert accuracy(model, ds.model_input("test"), ds.y_test) >= MIN_ACCURACY[dataset]


def test_blends_of_two_digits_are_in_between():
    ref = reference("mnist")
    x, y = ref.data.model_input("test")[:2000], ref.data.y_test[:2000]
    first = torch.arange(0, 1000)
    second = torch.tensor([next(j for j in range(1000, 2000) if y[j] != y[i]) for i in range(1000)])
    blends = (x[first] + x[second]) / 2  # 50/50 pixel blend of two digits of different classes
    _, logits = ref.extractor(blends)
    real_rate = in_between_rate(ref.logits, ref.threshold)
    blend_rate = in_between_rate(logits, ref.threshold)
    assert real_rate <= 0.01
    assert blend_rate > 20 * real_rate and blend_rate > 0.2
