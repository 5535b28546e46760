import math

import numpy as np
import pytest
from scipy import stats

from latentrw.stats import mean_ci, paired_diff_ci


def test_mean_ci_matches_a_hand_computation_and_scipy():
    mean, std, half = mean_ci([1.0, 2.0, 3.0])
    # mean 2, s = 1, t_{0.975, 2} = 4.302653: half-width 4.302653 / √3 = 2.484138
    assert mean == 2 and std == 1 and half == pytest.approx(2.484138, abs=1e-6)
    x = np.random.default_rng(0).normal(size=7)
    lo, hi = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    m, _, h = mean_ci(list(x))
    assert (m - h, m + h) == pytest.approx((lo, hi))
    assert mean_ci([1.0, 2.0, 3.0], level=0.97)[2] > half  # the paper's 97 % is wider


def test_one_value_has_no_known_spread():
    assert mean_ci([5.0])[2] == math.inf
    with pytest.raises(ValueError):
        mean_ci([])


def test_paired_interval_matches_scipys_paired_t_test():
    rng = np.random.default_rng(1)
    shared = rng.normal(0, 10, size=5)  # seed-to-seed variation both measurements share
    ref, val = shared + rng.normal(0, 0.1, 5), shared - 1 + rng.normal(0, 0.1, 5)
    mean, _, half = paired_diff_ci(list(val), list(ref))
    ci = stats.ttest_rel(val, ref).confidence_interval(0.95)
    assert (mean - half, mean + half) == pytest.approx((ci.low, ci.high))
    (m1, _, h1), (m0, _, h0) = mean_ci(list(val)), mean_ci(list(ref))
    assert m1 + h1 > m0 - h0 and mean + half < 0  # the unpaired intervals overlap; the paired one excludes 0
    with pytest.raises(ValueError, match="as many"):
        paired_diff_ci([1.0, 2.0], [1.0])
