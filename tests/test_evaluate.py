import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from latentrw.cli import main
from latentrw.errors import DataError
from latentrw.samples_io import load_npz, load_png_folder

from helpers import tiny_trainer


def test_png_folder_round_trip_and_errors(tmp_path):
    imgs = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    for i, im in enumerate(imgs):
        Image.fromarray(im, mode="L").save(tmp_path / f"{i:05d}.png")
    x = load_png_folder(tmp_path)
    assert x.shape == (5, 1, 28, 28)
    np.testing.assert_array_equal(((x[:, 0] + 1) * 127.5).round().byte().numpy(), imgs)
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(tmp_path / "big.png")
    with pytest.raises(DataError, match="big.png: image is 32x32"):
        load_png_folder(tmp_path)
    (tmp_path / "big.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="big.png: not a readable PNG"):
        load_png_folder(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no PNG files"):
        load_png_folder(tmp_path / "empty")


def test_npz_inputs_and_errors(tmp_path):
    np.savez(tmp_path / "a.npz", x=np.zeros((4, 28, 28), np.uint8))
    assert load_npz(tmp_path / "a.npz").shape == (4, 1, 28, 28)
    np.savez(tmp_path / "p.npz", x=np.ones((4, 2), np.float32))
    assert load_npz(tmp_path / "p.npz").shape == (4, 2)
    np.savez(tmp_path / "o.npz", x=np.array([{"a": 1}], dtype=object))
    with pytest.raises(DataError, match="not a readable .npz"):
        load_npz(tmp_path / "o.npz")  # object arrays would need pickle: refused
    np.savez(tmp_path / "n.npz", y=np.zeros(3))
    with pytest.raises(DataError, match="no array named 'x'"):
        load_npz(tmp_path / "n.npz")
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(DataError, match="bad.npz"):
        load_npz(tmp_path / "bad.npz")
    np.savez(tmp_path / "nan.npz", x=np.full((4, 2), np.nan, np.float32))
    with pytest.raises(DataError, match="NaN"):
        load_npz(tmp_path / "nan.npz")


def test_evaluate_cli_on_a_2d_run(tmp_path, tmp_cache):
    tiny_trainer(tmp_path / "run", n=80).fit()
    results = tmp_path / "results.jsonl"
    out = CliRunner().invoke(main, ["evaluate", str(tmp_path / "run"), "--n", "300", "--metrics", "fid,prdc,emd",
                                    "--results", str(results), "--device", "cpu"])
    assert out.exit_code == 0, out.output
    assert "precision" in out.output and "floor" in out.output
    rec = json.loads(results.read_text())
    assert rec["dataset"] == "4clusters" and rec["n"] == 300 and rec["sampler"] == "base"
    assert set(rec["metrics"]) == {"fid", "precision", "recall", "density", "coverage", "emd", "emd_std"}
    assert rec["feature_extractor"] == "coordinates" and rec["versions"]["torch"] == torch.__version__
    assert rec["floor"]["precision"] > 0.9  # real vs real
    bad = CliRunner().invoke(main, ["evaluate", str(tmp_path / "run"), "--metrics", "fid,nope"])
    assert bad.exit_code != 0 and "unknown metrics ['nope']" in bad.output


def test_eval_every_logs_metrics_without_changing_training(tmp_path, tmp_cache):
    plain = tiny_trainer(tmp_path / "a", n=80, epochs=2)
    plain.fit()
    evaluated = tiny_trainer(tmp_path / "b", n=80, epochs=2, eval_every=1, eval_n=50)
    evaluated.fit()
    logs = [json.loads(line) for line in (tmp_path / "b" / "log.jsonl").read_text().splitlines()]
    assert all({"fid", "precision", "recall", "density", "coverage"} <= set(r["metrics"]) for r in logs)
    for (k, v1), v2 in zip(plain.G.state_dict().items(), evaluated.G.state_dict().values()):
        assert torch.equal(v1, v2), k


def test_user_registered_extractor(tmp_path):
    from latentrw.metrics.features import EXTRACTORS, FeatureExtractor, get_extractor, register_extractor

    register_extractor("doubled-points", lambda: FeatureExtractor("double", lambda x: (2 * x, None), 2, "double"))
    try:
        feats, logits = get_extractor("doubled-points")(torch.ones(3, 2))
        assert torch.equal(feats, torch.full((3, 2), 2.0, dtype=torch.float64)) and logits is None
    finally:
        EXTRACTORS._items.pop("doubled-points")
