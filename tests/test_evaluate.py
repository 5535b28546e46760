import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from helpers import tiny_trainer
from PIL import Image

from latentrw.cli import main
from latentrw.errors import DataError
from latentrw.samples_io import load_npz, load_png_folder


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
    assert set(rec["metrics"]) == {"fid", "precision", "recall", "density", "coverage", "emd", "emd_std", "emd_n"}
    assert rec["feature_extractor"] == "coordinates" and rec["versions"]["torch"] == torch.__version__
    assert rec["step"] == 10 and rec["config"]["dataset"] == "4clusters" and rec["protocol"]["k_precision_recall"] == 3
    assert rec["metrics"]["emd_n"] == 300 and "pot" in rec["versions"]
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


def test_user_registered_extractor(monkeypatch):
    from latentrw.features import extractor as features
    from latentrw.registry import Registry

    monkeypatch.setattr(features, "EXTRACTORS", Registry("feature extractor"))
    monkeypatch.setattr(features, "_CACHE", {})
    features.register_extractor("doubled", lambda: features.FeatureExtractor("double", lambda x: (2 * x, None), 2, "d"))
    feats, logits = features.get_extractor("doubled")(torch.ones(3, 2))
    assert torch.equal(feats, torch.full((3, 2), 2.0, dtype=torch.float64)) and logits is None


def test_floor_is_cached_per_protocol(tmp_cache, monkeypatch):
    from latentrw.metrics import evaluate as ev

    ref = ev.Reference("4clusters")
    calls = []
    real_eval = ev.evaluate_samples
    monkeypatch.setattr(ev, "evaluate_samples", lambda *a, **k: calls.append(1) or real_eval(*a, **k))
    first = ev.floor("4clusters", n=500, ref=ref)
    assert ev.floor("4clusters", n=500, ref=ref) == first and len(calls) == 1  # second call: from disk
    monkeypatch.setitem(ev.PROTOCOL, "k_precision_recall", 4)  # another protocol: recomputed
    ev.floor("4clusters", n=500, ref=ref)
    assert len(calls) == 2


def test_image_evaluation_via_png_folder_and_npz(tmp_path, tmp_cache):
    from latentrw.data import load_dataset

    imgs = load_dataset("mnist").x_test[:300].numpy()  # real digits as "samples"
    for i, im in enumerate(imgs):
        Image.fromarray(im, mode="L").save(tmp_path / f"{i:05d}.png")
    np.savez(tmp_path / "s.npz", x=imgs[:, :, :, None])  # (N, 28, 28, 1) is accepted too
    results = tmp_path / "r.jsonl"
    for source in (tmp_path, tmp_path / "s.npz"):
        out = CliRunner().invoke(main, ["evaluate", str(source), "--metrics", "fid,prdc,classes", "--no-floor",
                                        "--results", str(results)])
        assert out.exit_code == 0, out.output
    a, b = [json.loads(line) for line in results.read_text().splitlines()]
    assert a["metrics"] == b["metrics"] and a["sampler"] is None and a["source_kind"] == "png-folder"
    assert a["feature_extractor"].startswith("sha256:") and a["feature_extractor"].endswith(":fc1")
    m = a["metrics"]
    assert "kid" not in m and "emd" not in m  # --metrics limits the work
    assert m["precision"] > 0.8 and m["in_between"] < 0.05 and m["modes_covered"] == 10
    np.savez(tmp_path / "p.npz", x=np.zeros((5, 2), np.float32))
    out = CliRunner().invoke(main, ["evaluate", str(tmp_path / "p.npz"), "--no-floor", "--results", str(results)])
    assert out.exit_code != 0 and "samples have shape (2,) but mnist samples are (1, 28, 28)" in out.output


def test_shipped_classifier_with_wrong_pin_is_refused(monkeypatch):
    from latentrw.errors import CheckpointError
    from latentrw.features import extractor as features

    monkeypatch.setitem(features.PINNED_SHA256, "mnist", "0" * 64)
    with pytest.raises(CheckpointError, match="does not match the pinned"):
        features.classifier_extractor("mnist")
    monkeypatch.delitem(features.PINNED_SHA256, "mnist")
    with pytest.raises(CheckpointError, match="no sha256 is pinned"):
        features.classifier_extractor("mnist")
