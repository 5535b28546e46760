"""Your own data as a dataset: .npz arrays and folders of images, and their bad inputs."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from latentrw.config import TrainConfig
from latentrw.data import DATASETS, load_dataset
from latentrw.data.user import add_dataset
from latentrw.errors import CheckpointError, DataError
from latentrw.metrics.evaluate import evaluate_samples
from latentrw.train import train


def test_npz_points_train_and_evaluate(tmp_cache, tmp_path):
    x = np.random.default_rng(0).normal(size=(600, 2)).astype(np.float32)
    np.savez(tmp_path / "pts.npz", x=x)
    add_dataset("fuzzy-points", tmp_path / "pts.npz", test_fraction=0.25)
    ds = load_dataset("fuzzy-points")
    assert ds.kind == "points" and len(ds.x_train) == 450 and len(ds.x_test) == 150
    assert sorted(map(tuple, torch.cat([ds.x_train, ds.x_test]).tolist())) == sorted(map(tuple, x.tolist()))
    assert DATASETS.get("fuzzy-points").kind == "points"
    run = train(TrainConfig(dataset="fuzzy-points", model="toy", objective="wgan-gp", epochs=1, batch_size=100,
                            device="cpu"), tmp_path / "run")
    assert (run / "G.safetensors").is_file()
    values = evaluate_samples(ds.x_test[:100], "fuzzy-points", ("prdc",))
    assert 0 <= values["precision"] <= 1


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_image_folder_is_resized_cropped_and_refuses_bad_files(tmp_cache, tmp_path):
    folder = tmp_path / "imgs"
    (folder / "sub").mkdir(parents=True)
    for i in range(29):  # any size and mode; a uniform image stays uniform after resize and crop
        size = (40 + 7 * i, 30 + 3 * i)
        Image.new("RGB" if i % 2 else "L", size, (77, 77, 77) if i % 2 else 77).save(folder / f"{i}.png")
    (folder / "sub" / "a.jpg").write_bytes(_png(Image.new("L", (28, 28), 77)))  # a PNG named .jpg still opens
    (folder / "bad.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError, match="bad.png: not a readable image"):
        add_dataset("my-digits", folder)
    (folder / "bad.png").unlink()
    add_dataset("my-digits", folder, size=28, test_fraction=0.2)
    ds = load_dataset("my-digits")
    assert ds.kind == "image" and ds.x_train.shape == (24, 28, 28) and ds.x_train.dtype == torch.uint8
    assert (torch.cat([ds.x_train, ds.x_test]) == 77).all() and ds.y_train is None
    with pytest.raises(CheckpointError, match="no feature extractor is registered for dataset my-digits"):
        evaluate_samples(ds.model_input("test"), "my-digits", ("fid",))
    from latentrw.features import FeatureExtractor, register_extractor
    from latentrw.metrics.evaluate import floor

    register_extractor("my-digits", lambda: FeatureExtractor("pixels", lambda x: (x.flatten(1), None), 784, "pixels"))
    assert floor("my-digits", n=10_000)["n_floor"] == 24  # the whole (small) training split


def test_bad_sources_and_names_are_clear_errors(tmp_cache, tmp_path):
    np.savez(tmp_path / "obj.npz", x=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(DataError, match="plain arrays"):
        add_dataset("objects", tmp_path / "obj.npz")
    np.savez(tmp_path / "bad.npz", x=np.zeros((5, 3), np.float32))
    with pytest.raises(DataError, match=r"expected uint8 images \(N, H, W\) or finite 2-D points"):
        add_dataset("threes", tmp_path / "bad.npz")
    np.savez(tmp_path / "nolabel.npz", x_train=np.zeros((4, 8, 8), np.uint8), x_test=np.zeros((2, 8, 8), np.uint8),
             y_train=np.zeros(3, np.int64), y_test=np.zeros(2, np.int64))
    with pytest.raises(DataError, match="one integer label per item"):
        add_dataset("labels", tmp_path / "nolabel.npz")
    with pytest.raises(DataError, match="built-in"):
        add_dataset("mnist", tmp_path / "obj.npz")
    with pytest.raises(DataError, match="lower-case"):
        add_dataset("../escape", tmp_path / "obj.npz")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no .png"):
        add_dataset("empty", tmp_path / "empty")
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04junk")
    with pytest.raises(DataError, match="not a readable"):
        add_dataset("junk", tmp_path / "junk.npz")
