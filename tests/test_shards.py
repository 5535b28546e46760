"""Large N: sharded samples on disk and their streamed evaluation equal the in-memory ones."""

import numpy as np
import pytest
import torch

from latentrw.errors import DataError
from latentrw.metrics.evaluate import evaluate_samples
from latentrw.run import load_run
from latentrw.samplers import BaseSampler
from latentrw.shards import Moments, evaluate_shards, iter_shards, write_shards
from latentrw.shipped import shipped


def test_moments_equal_the_batch_mean_and_covariance():
    f = np.random.default_rng(0).normal(size=(1000, 7)) * [1, 2, 3, 4, 5, 6, 7] + 3
    m = Moments(7)
    for chunk in np.array_split(f, 6):
        m.update(chunk.astype(np.float32) if len(chunk) % 2 else chunk)  # float32 input is summed in float64
    mu, cov = m.stats()
    g = np.concatenate([c.astype(np.float32).astype(np.float64) if len(c) % 2 else c for c in np.array_split(f, 6)])
    np.testing.assert_allclose(mu, g.mean(0), rtol=1e-12)
    np.testing.assert_allclose(cov, np.cov(g, rowvar=False), rtol=1e-9, atol=1e-12)


def test_streamed_evaluation_equals_in_memory_on_mnist(tmp_path):
    run = load_run(shipped("mnist-mlp-ns"))
    index = write_shards(BaseSampler().fit(run), run, 1300, tmp_path, seed=3, shard_size=500)
    assert [s["n"] for s in index["shards"]] == [500, 500, 300]
    x = torch.cat(list(iter_shards(tmp_path)))
    streamed = evaluate_shards(tmp_path, metrics=("fid", "prdc", "classes"), seed=0, subsample=5000)
    full = evaluate_samples(x, "mnist", ("fid", "prdc", "classes"), seed=0)
    assert streamed["n"] == streamed["subsample"] == 1300
    for key in ("fid", "precision", "recall", "density", "coverage", "in_between", "kl_uniform"):
        assert streamed[key] == pytest.approx(full[key], rel=1e-7, abs=1e-9), key
    assert streamed["class_histogram"] == full["class_histogram"]
    small = evaluate_shards(tmp_path, metrics=("fid", "prdc"), subsample=400)
    assert small["subsample"] == 400 and small["fid"] == pytest.approx(full["fid"], rel=1e-7)


def test_a_changed_shard_is_refused(tmp_path):
    run = load_run(shipped("swissroll"))
    write_shards(BaseSampler().fit(run), run, 300, tmp_path, shard_size=100)
    np.save(tmp_path / "x_00001.npy", np.zeros((100, 2), np.float32))
    with pytest.raises(DataError, match="sha256"):
        evaluate_shards(tmp_path)
    (tmp_path / "index.json").write_text("{")
    with pytest.raises(DataError, match="shard index"):
        evaluate_shards(tmp_path)


def test_every_shard_is_a_fresh_draw_and_the_first_is_sample_seed(tmp_path):
    from latentrw.sample import draw, make_sampler

    run_dir = shipped("swissroll")
    run = load_run(run_dir)
    for name, opts in (("mh-gan", {"k": 3}), ("latent-rs", {})):
        sampler = make_sampler(name, run, run_dir, **opts)
        index = write_shards(sampler, run, 600, tmp_path / name, seed=5, shard_size=200)
        assert len({s["sha256"] for s in index["shards"]}) == 3, name  # no two shards alike
        first = next(iter_shards(tmp_path / name))
        torch.testing.assert_close(first, draw(sampler, run, 200, seed=5).x)
