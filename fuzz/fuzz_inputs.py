"""Coverage-guided fuzzing (atheris, libFuzzer) of every reader that takes a user's file.

    python fuzz/fuzz_inputs.py TARGET [libFuzzer flags, e.g. -runs=20000 -max_total_time=60]

TARGET is one of idx, checkpoint, config, npz, png. Each run starts from a valid file of its
kind (written into a fresh seed corpus) and mutates it. A reader may read the input or refuse it
with latentrw's own error (a ``LatentrwError``); any other exception is a finding: atheris
prints it and exits non-zero, leaving the input that caused it in the printed scratch folder. libFuzzer's ``-timeout`` (10 s
here) turns a hang into a finding and ``-rss_limit_mb`` (2 GB) an enormous allocation.
tests/test_fuzz.py holds the hypothesis property tests of the same readers; a slow test runs
this harness on every target (``pip install atheris``; skipped where it does not install).
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
from pathlib import Path

import atheris
import numpy as np
import safetensors.torch
import torch
from PIL import Image

PRELOADED = (safetensors.torch, torch, Image)  # imported before instrumenting: only latentrw is instrumented

with atheris.instrument_imports(include=["latentrw"]):  # coverage feedback from latentrw's own code
    from latentrw.checkpoint import load_tensors, save_tensors
    from latentrw.config import TrainConfig
    from latentrw.data.idx import decompress_if_gzip, encode_idx, parse_idx
    from latentrw.data.user import _from_npz, _image
    from latentrw.errors import LatentrwError
    from latentrw.run import load_model_file

SCRATCH = Path(tempfile.mkdtemp(prefix="latentrw-fuzz-"))


def _file(data: bytes, name: str) -> Path:
    path = SCRATCH / name
    path.write_bytes(data)
    return path


def fuzz_idx(data: bytes) -> None:
    array = parse_idx(decompress_if_gzip(data, "fuzz"), "fuzz")
    assert array.dtype == np.uint8


def fuzz_checkpoint(data: bytes) -> None:
    path = _file(data, "G.safetensors")
    assert isinstance(load_tensors(path)[1], dict)
    load_model_file(path)  # the header must describe a latentrw model, or a CheckpointError


def fuzz_config(data: bytes) -> None:
    config = TrainConfig.load(_file(data, "config.json")).resolve()
    assert config.epochs >= 1 and config.batch_size >= 1


def fuzz_npz(data: bytes) -> None:
    _from_npz(_file(data, "data.npz"), 0.1, 0)


def fuzz_png(data: bytes) -> None:
    assert _image(_file(data, "image.png"), 8).shape == (8, 8)


def seeds() -> dict[str, list[bytes]]:
    """One or two valid inputs per target, for the mutations to start from."""
    model = SCRATCH / "seed.safetensors"
    save_tensors(model, {"net.0.weight": torch.ones(2, 2), "net.0.bias": torch.zeros(2)},
                 {"family": "toy", "role": "generator", "config": {"z_dim": 2}, "step": 0})
    npz = io.BytesIO()
    np.savez(npz, x_train=np.zeros((3, 4, 4), np.uint8), x_test=np.ones((2, 4, 4), np.uint8))
    png = io.BytesIO()
    Image.new("L", (5, 3), 9).save(png, format="PNG")
    import gzip

    idx = encode_idx(np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
    return {"idx": [idx, gzip.compress(idx)], "checkpoint": [model.read_bytes()],
            "config": [json.dumps({"dataset": "mnist", "model": "mlp", "epochs": 3}).encode()],
            "npz": [npz.getvalue()], "png": [png.getvalue()]}


TARGETS = {"idx": fuzz_idx, "checkpoint": fuzz_checkpoint, "config": fuzz_config, "npz": fuzz_npz, "png": fuzz_png}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: python fuzz/fuzz_inputs.py {{{','.join(TARGETS)}}} [libFuzzer flags]")
    name, flags = sys.argv[1], sys.argv[2:]
    corpus = SCRATCH / f"corpus-{name}"
    corpus.mkdir()
    for i, raw in enumerate(seeds()[name]):
        (corpus / f"seed{i}").write_bytes(raw)
    target = TARGETS[name]

    def one_input(data: bytes) -> None:
        try:
            target(data)
        except LatentrwError:
            pass  # refused with a clear error: the contract

    defaults = ["-timeout=10", "-rss_limit_mb=2048", f"-artifact_prefix={SCRATCH}/"]
    atheris.Setup([sys.argv[0], *defaults, *flags, str(corpus)], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
