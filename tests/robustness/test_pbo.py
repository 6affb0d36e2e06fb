"""PBO by CSCV: the vectorised implementation against a slow one written from the paper, and its statistics.

Under pure noise the IS-best trial's OOS rank is uniform on 1..N (the columns are exchangeable and IS and OOS
rows independent), so with N even exactly half the ranks give λ <= 0: E[PBO] = 1/2; with N odd the middle rank
(λ = 0) counts too, E[PBO] = (N + 1) / (2N).
"""

import itertools
import math

import numpy as np
import pytest

from backgrid.errors import BackgridError, RobustnessError
from backgrid.robustness import PBOResult, pbo


def reference_pbo(matrix, blocks, metric):
    """CSCV written plainly: loop over the splits, concatenate the rows, rank with a loop."""
    t, n = matrix.shape
    edges = [b * t // blocks for b in range(blocks + 1)]
    pieces = [matrix[edges[b]:edges[b + 1]] for b in range(blocks)]
    logits, is_best, oos = [], [], []
    for chosen in itertools.combinations(range(blocks), blocks // 2):
        train = np.vstack([pieces[b] for b in chosen])
        test = np.vstack([pieces[b] for b in range(blocks) if b not in chosen])
        r_is = [metric(train[:, j]) for j in range(n)]
        r_oos = [metric(test[:, j]) for j in range(n)]
        best = 0
        for j in range(1, n):
            if r_is[j] > r_is[best]:
                best = j
        below = sum(1 for j in range(n) if r_oos[j] < r_oos[best])
        ties = sum(1 for j in range(n) if r_oos[j] == r_oos[best]) - 1
        omega = (1 + below + ties / 2) / (n + 1)
        logits.append(math.log(omega / (1 - omega)))
        is_best.append(r_is[best])
        oos.append(r_oos[best])
    logits = np.array(logits)
    return float(np.mean(logits <= 0)), logits, np.array(is_best), np.array(oos)


def column_sharpe(x):
    return float(np.mean(x) / np.std(x, ddof=1))


@pytest.mark.parametrize(("t", "n", "blocks", "seed"), [(40, 4, 4, 0), (63, 5, 6, 1), (100, 7, 8, 2), (17, 3, 2, 3)])
def test_fast_sharpe_equals_the_slow_reference(t, n, blocks, seed):
    m = np.random.default_rng(seed).normal(0.001, 0.01, (t, n))
    m[:, 0] += 0.002 * np.sin(np.arange(t))  # some structure, so the splits do not all agree
    expected, logits, is_best, oos = reference_pbo(m, blocks, column_sharpe)
    result = pbo(m, blocks)
    assert result.pbo == expected
    np.testing.assert_allclose(result.logits, logits, rtol=1e-12)
    np.testing.assert_allclose(result.is_best, is_best, rtol=1e-10)
    np.testing.assert_allclose(result.oos, oos, rtol=1e-10)
    assert result.n_splits == math.comb(blocks, blocks // 2)


@pytest.mark.parametrize("metric", ["mean", lambda x: x.sum(axis=0), lambda x: np.median(x, axis=0)])
def test_other_metrics_equal_the_slow_reference(metric):
    m = np.random.default_rng(7).normal(0.0, 1.0, (48, 6))
    slow = (lambda x: float(np.mean(x))) if metric == "mean" else (lambda x: float(metric(x[:, None])[0]))
    expected, logits, is_best, oos = reference_pbo(m, 6, slow)
    result = pbo(m, 6, metric=metric)
    assert result.pbo == expected
    np.testing.assert_allclose(result.logits, logits, rtol=1e-12)
    np.testing.assert_allclose(result.oos, oos, rtol=1e-10)
    np.testing.assert_allclose(result.is_best, is_best, rtol=1e-10)


def test_ties_share_their_average_rank():
    # integer returns: many OOS totals tie; the slow reference averages ranks the same way
    m = np.random.default_rng(11).integers(-2, 3, (24, 5)).astype(float)
    expected, logits, _, _ = reference_pbo(m, 4, lambda x: float(np.sum(x)))
    result = pbo(m, 4, metric=lambda x: x.sum(axis=0))
    assert result.pbo == expected
    np.testing.assert_allclose(result.logits, logits, rtol=1e-12)


def test_hand_worked_two_blocks():
    # S = 2: splits ({0} IS, {1} OOS) and ({1} IS, {0} OOS). Trials' means per block: a (1, 0), b (0, 2), c (0.5, 1)
    # split 1: IS-best a (1), OOS values a 0, b 2, c 1 -> rank 1, ω = 1/4, λ = ln(1/3)
    # split 2: IS-best b (2), OOS values a 1, b 0, c 0.5 -> rank 1 again: PBO = 1
    m = np.array([[1.0, 0.0, 0.5], [1.0, 0.0, 0.5], [0.0, 2.0, 1.0], [0.0, 2.0, 1.0]])
    result = pbo(m, 2, metric="mean")
    np.testing.assert_allclose(result.logits, [math.log(1 / 3)] * 2, rtol=1e-15)
    assert result.pbo == 1.0
    np.testing.assert_array_equal(result.is_best, [1.0, 2.0])
    np.testing.assert_array_equal(result.oos, [0.0, 0.0])
    assert result.probability_of_loss == 0.0  # OOS 0 is not a loss


def test_a_column_with_a_real_edge_gives_pbo_near_zero():
    rng = np.random.default_rng(5)
    m = rng.normal(0.0, 0.01, (1000, 20))
    m[:, 3] += 0.003  # per-period Sharpe 0.3: over 500 rows its SR estimate has SE 0.045, far above the rest
    result = pbo(m, 16)
    assert result.pbo < 0.01
    assert result.probability_of_loss < 0.01
    assert isinstance(result, PBOResult)


@pytest.mark.parametrize(("n", "expected"), [(10, 0.5), (3, 2 / 3)])
def test_pure_noise_averages_the_theoretical_pbo(n, expected):
    # 60 seeds; one seed's PBO is a mean over correlated splits, so the tolerance is 4 standard errors of the mean
    # over seeds, estimated from the seeds themselves (their sd is about 0.2-0.3, 4 SE about 0.12)
    values = np.array([pbo(np.random.default_rng(seed).normal(0.0, 1.0, (160, n)), 8).pbo for seed in range(60)])
    se = values.std(ddof=1) / math.sqrt(values.size)
    assert 0.01 < se < 0.05  # the seeds do vary, and not so much that the test says nothing
    assert abs(values.mean() - expected) < 4 * se


def test_degradation_is_the_least_squares_line():
    m = np.random.default_rng(9).normal(0.0, 1.0, (120, 8))
    result = pbo(m, 6)
    slope, intercept = np.polyfit(result.is_best, result.oos, 1)
    assert result.degradation == pytest.approx((slope, intercept), rel=1e-9)
    assert result.probability_of_loss == np.mean(result.oos < 0)
    summary = result.summary()
    assert summary["pbo"] == result.pbo
    assert summary["degradation_slope"] == result.degradation[0]


def test_a_constant_trial_ranks_last():
    m = np.random.default_rng(2).normal(0.0, 1.0, (64, 4))
    m[:, 2] = 0.5  # Sharpe undefined everywhere: never chosen, always ranked below the others
    result = pbo(m, 4)
    reduced = pbo(np.delete(m, 2, axis=1), 4)
    # dropping a trial that ranks last changes ω from rank/(N+1) to (rank-1)/N, never which trial is chosen
    np.testing.assert_array_equal(result.is_best, reduced.is_best)
    assert np.all(np.isfinite(result.is_best))


@pytest.mark.parametrize(("matrix", "blocks", "named"), [
    (np.zeros((20, 3)), 5, "blocks"),
    (np.zeros((20, 3)), 0, "blocks"),
    (np.zeros((6, 3)), 8, "blocks"),
    (np.zeros((20, 1)), 4, "columns"),
    (np.zeros(20), 4, "matrix"),
    (np.full((20, 3), np.nan), 4, "matrix"),
])
def test_errors_name_the_argument(matrix, blocks, named):
    with pytest.raises(RobustnessError, match=named) as info:
        pbo(matrix, blocks)
    assert isinstance(info.value, BackgridError)
    assert isinstance(info.value, ValueError)


def test_a_metric_of_the_wrong_shape_is_an_error():
    with pytest.raises(RobustnessError, match="metric"):
        pbo(np.ones((20, 3)), 4, metric=lambda x: x.sum())
