import numpy as np
import pytest
import scipy.linalg
import torch
from scipy.optimize import linear_sum_assignment

from latentrw.metrics.classes import class_histogram, in_between_rate, in_between_threshold, kl_to_uniform, modes_covered
from latentrw.metrics.emd import emd, emd_subsampled
from latentrw.metrics.fid import fid, frechet_distance, gaussian_stats
from latentrw.metrics.kid import kid, mmd2_unbiased
from latentrw.metrics.prdc import kth_neighbour_radii, prdc


def rng(seed=0):
    return np.random.default_rng(seed)


# -- FID ---------------------------------------------------------------------------

def reference_fid(a, b):
    """pytorch-fid's formula: scipy sqrtm of the non-symmetric product."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def test_fid_equals_scipy_sqrtm_reference():
    a = rng(0).normal(size=(500, 16))
    b = rng(1).normal(size=(400, 16)) @ rng(2).normal(size=(16, 16)) * 0.5 + 0.3
    assert fid(a, b) == pytest.approx(reference_fid(a, b), rel=1e-6)
    assert fid(torch.tensor(a), torch.tensor(b)) == pytest.approx(reference_fid(a, b), rel=1e-6)


def test_fid_known_answers():
    a = rng(0).normal(size=(2000, 8))
    assert fid(a, a) == pytest.approx(0.0, abs=1e-9)
    # Two Gaussians with identity covariance and means 0 and 3·e1: FID = 9.
    mu, s = np.zeros(8), np.eye(8)
    assert frechet_distance(mu, s, mu + 3 * np.eye(8)[0], s) == pytest.approx(9.0)
    # Same mean, covariances I and 4I in d dims: tr(I) + tr(4I) - 2 tr(2I) = d.
    assert frechet_distance(mu, s, mu, 4 * s) == pytest.approx(8.0)


def test_fid_warns_on_tiny_samples():
    with pytest.warns(UserWarning, match="singular"):
        gaussian_stats(rng().normal(size=(10, 32)))


# -- KID ---------------------------------------------------------------------------

def numpy_mmd2(x, y):
    d = x.shape[1]
    k = lambda a, b: (a @ b.T / d + 1) ** 3  # noqa: E731
    m, n = len(x), len(y)
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    return (kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2 * kxy.mean()


def test_kid_equals_independent_numpy_mmd_with_torch_fidelity_subsets():
    x, y = rng(0).normal(size=(300, 10)), rng(1).normal(size=(200, 10)) + 0.2
    assert mmd2_unbiased(torch.tensor(x), torch.tensor(y)) == pytest.approx(numpy_mmd2(x, y), rel=1e-6)
    mean, std = kid(x, y, subsets=10, subset_size=100)
    r = np.random.RandomState(2020)  # torch-fidelity: seed 2020, fake subset drawn before real
    vals = []
    for _ in range(10):
        fx = x[r.choice(300, 100, replace=False)]
        vals.append(numpy_mmd2(fx, y[r.choice(200, 100, replace=False)]))
    assert mean == pytest.approx(np.mean(vals), rel=1e-6) and std == pytest.approx(np.std(vals), rel=1e-6)
    with pytest.warns(UserWarning, match="not comparable"):
        kid(x[:50], y, subsets=2, subset_size=100)


@pytest.mark.filterwarnings("ignore:KID subsets")
def test_kid_is_unbiased_near_zero_for_same_distribution():
    x, y = rng(0).normal(size=(2000, 8)), rng(1).normal(size=(2000, 8))
    mean, std = kid(x, y, subsets=20, subset_size=500)
    assert abs(mean) < 3 * std / np.sqrt(20) + 1e-3
    far, _ = kid(x, y + 2, subsets=20, subset_size=500)
    assert far > 50 * max(abs(mean), 1e-4)


# -- precision / recall / density / coverage ------------------------------------------

def test_prdc_equals_reference_package_exactly():
    prdc_ref = pytest.importorskip("prdc")
    real, fake = rng(0).normal(size=(400, 12)), rng(1).normal(size=(300, 12)) * 1.2 + 0.1
    for k in (3, 5):
        ref = prdc_ref.compute_prdc(real_features=real, fake_features=fake, nearest_k=k)
        ours = prdc(real, fake, k_pr=k, k_dc=k, chunk=64)
        assert ours == {key: pytest.approx(float(v), abs=1e-12) for key, v in ref.items()}


def straightforward_prdc(real, fake, k_pr, k_dc):
    d_rr = np.linalg.norm(real[:, None] - real[None], axis=-1)
    d_ff = np.linalg.norm(fake[:, None] - fake[None], axis=-1)
    d_rf = np.linalg.norm(real[:, None] - fake[None], axis=-1)
    r_pr, r_dc = np.sort(d_rr, 1)[:, k_pr], np.sort(d_rr, 1)[:, k_dc]
    f_pr = np.sort(d_ff, 1)[:, k_pr]
    return {"precision": (d_rf < r_pr[:, None]).any(0).mean(), "recall": (d_rf < f_pr[None]).any(1).mean(),
            "density": (d_rf < r_dc[:, None]).sum(0).mean() / k_dc, "coverage": (d_rf.min(1) < r_dc).mean()}


def test_prdc_mixed_k_and_chunking_agree_with_straightforward():
    real, fake = rng(2).normal(size=(250, 5)), rng(3).normal(size=(200, 5)) + 0.5
    ref = straightforward_prdc(real, fake, 3, 5)
    for chunk in (7, 100, 1000):
        assert prdc(real, fake, 3, 5, chunk=chunk) == {k: pytest.approx(float(v), abs=1e-12) for k, v in ref.items()}
    radii = kth_neighbour_radii(real, [3, 5], chunk=13)
    assert torch.equal(radii, kth_neighbour_radii(real, [3, 5], chunk=1000))
    # the reference's radii, computed once and passed in, give the same numbers
    assert prdc(real, fake, 3, 5, real_radii=radii) == prdc(real, fake, 3, 5)
    with pytest.raises(ValueError, match="real_radii has shape"):
        prdc(real, fake, 3, 5, real_radii=radii[:, :1])


def test_prdc_known_answers():
    x = rng(0).normal(size=(500, 4))
    same = prdc(x, x)
    assert same["precision"] == 1 and same["recall"] == 1 and same["coverage"] == 1
    far = prdc(x, x + 100)
    assert far == {"precision": 0, "recall": 0, "density": 0, "coverage": 0}


def test_uniform_noise_images_cover_nothing():
    # Real "images": smooth blobs; fakes: uniform pixel noise in [-1, 1] -- far from every real ball.
    r = rng(5)
    yy, xx = np.mgrid[:28, :28]
    centres = r.uniform(8, 20, size=(600, 2))
    real = np.exp(-((yy[None] - centres[:, 0, None, None]) ** 2 + (xx[None] - centres[:, 1, None, None]) ** 2) / 20)
    real = (2 * real - 1).reshape(600, -1)
    noise = r.uniform(-1, 1, size=(600, 784))
    out = prdc(real, noise)
    assert out["coverage"] < 0.01 and out["precision"] < 0.01 and out["density"] < 0.01


def test_mode_dropping_lowers_recall_and_coverage_not_precision():
    centres = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], dtype=float)
    r = rng(4)
    real = centres[r.integers(4, size=2000)] + r.normal(size=(2000, 2)) * 0.5
    dropped = centres[r.integers(2, size=2000)] + r.normal(size=(2000, 2)) * 0.5  # only 2 of 4 modes
    full = centres[r.integers(4, size=2000)] + r.normal(size=(2000, 2)) * 0.5
    a, b = prdc(real, full), prdc(real, dropped)
    assert b["precision"] > 0.95 and abs(a["precision"] - b["precision"]) < 0.03
    assert b["recall"] < 0.6 and a["recall"] > 0.95
    assert b["coverage"] < 0.6 and a["coverage"] > 0.9


# -- EMD ---------------------------------------------------------------------------------

def test_emd_equals_linear_sum_assignment():
    a, b = rng(0).normal(size=(60, 3)), rng(1).normal(size=(60, 3)) + 1
    cost = np.linalg.norm(a[:, None] - b[None], axis=-1)
    rows, cols = linear_sum_assignment(cost)
    assert emd(a, b) == pytest.approx(cost[rows, cols].sum() / 60, rel=1e-9)
    assert emd(a, a) == pytest.approx(0.0, abs=1e-12)
    assert emd(a, a + np.array([3.0, 4.0, 0.0])) == pytest.approx(5.0)  # a pure shift costs its length


def test_squared_emd_is_the_squared_cost_assignment_and_its_subsets_are_the_euclidean_ones():
    a, b = rng(0).normal(size=(60, 3)), rng(1).normal(size=(60, 3)) + 1
    cost = ((a[:, None] - b[None]) ** 2).sum(-1)
    rows, cols = linear_sum_assignment(cost)
    assert emd(a, b, squared=True) == pytest.approx(cost[rows, cols].sum() / 60, rel=1e-9)
    assert emd(a, a + np.array([3.0, 4.0, 0.0]), squared=True) == pytest.approx(25.0)  # a shift costs its length²
    sub = np.random.default_rng(4)  # the subset pair that seed 4 draws first, for either cost
    ia, ib = sub.choice(60, 30, replace=False), sub.choice(60, 30, replace=False)
    assert emd(a[ia], b[ib]) == pytest.approx(emd_subsampled(a, b, n=30, repeats=1, seed=4)[0])
    assert emd(a[ia], b[ib], squared=True) == pytest.approx(
        emd_subsampled(a, b, n=30, repeats=1, seed=4, squared=True)[0])


def test_emd_subsampled_is_biased_upwards_with_small_spread():
    a, b = rng(0).normal(size=(3000, 2)), rng(1).normal(size=(3000, 2))
    full = emd(a, b)
    mean, std = emd_subsampled(a, b, n=500, repeats=5)
    assert mean > full and std < 0.5 * mean


# -- class statistics -----------------------------------------------------------------------

def test_class_statistics():
    logits = torch.full((100, 10), -5.0)
    logits[torch.arange(100), torch.arange(100) % 5] = 5.0  # 5 classes equally, very confident
    hist = class_histogram(logits)
    assert hist[:5].tolist() == [0.2] * 5 and hist[5:].sum() == 0
    assert kl_to_uniform(hist) == pytest.approx(np.log(2))  # uniform on half the classes
    assert kl_to_uniform(torch.full((10,), 0.1, dtype=torch.float64)) == pytest.approx(0.0, abs=1e-12)
    assert modes_covered(hist) == 5
    ambiguous = torch.zeros(10, 10)  # top probability 0.1
    thr = in_between_threshold(logits, quantile=0.01)
    assert in_between_rate(logits, thr) <= 0.01 and in_between_rate(ambiguous, thr) == 1.0


def test_in_between_threshold_allows_at_most_the_quantile():
    logits = torch.tensor(rng(0).normal(size=(1000, 10)) * 3)
    thr = in_between_threshold(logits, 0.01)
    assert in_between_rate(logits, thr) <= 0.01
    assert in_between_rate(logits, thr + 1e-9) > 0.01 - 1e-9  # and it is the largest such threshold


def test_emd_with_weights_on_the_first_cloud():
    a, b = np.array([[0.0, 0.0], [10.0, 0.0]]), np.array([[0.0, 1.0]])
    assert emd(a, b, weights_a=[3.0, 0.0]) == pytest.approx(1.0)  # all mass on the first point
    assert emd(a, b, weights_a=[1.0, 1.0]) == pytest.approx(emd(a, b))  # equal weights: the uniform EMD
