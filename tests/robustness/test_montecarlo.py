"""Trade shuffles, trade bootstraps and block bootstraps: exact invariants, enumerable small cases, and coverage.

Sampling tolerances are stated where they are used: a frequency estimated from k draws has binomial standard
error sqrt(p(1 - p)/k), and the tests allow 4 of them (a false alarm about once in 16,000 runs), or 3.5 where
the coverage itself is only asymptotic.
"""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backgrid.errors import BackgridError, RobustnessError
from backgrid.robustness import (
    BlockBootstrapResult,
    BootstrapResult,
    ShuffleResult,
    block_bootstrap,
    bootstrap_trades,
    shuffle_trades,
)


def path_stats(pnl, cash):
    """Max drawdown (fraction of the running peak, cash the first peak) and min equity, written plainly."""
    equity, peak, worst, low = cash, cash, 0.0, cash
    for x in pnl:
        equity += x
        peak = max(peak, equity)
        worst = min(worst, equity / peak - 1)
        low = min(low, equity)
    return worst, low


# --- shuffle_trades -------------------------------------------------------------------------------------------

def test_shuffle_keeps_the_total_pnl_exactly():
    pnl = np.random.default_rng(0).normal(3.0, 250.0, 1000)
    result = shuffle_trades(pnl, 100_000.0, n=2000, seed=1)
    total = math.fsum([100_000.0, *pnl])  # the correctly rounded cash + sum of the trades
    assert np.all(result.final == total)  # every path, bit for bit
    assert np.unique(result.max_drawdown).size > 1000  # the orders did differ


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-10**8, 10**8).map(lambda cents: cents / 100), min_size=1, max_size=200),
       st.integers(0, 2**32))
def test_shuffle_final_is_the_same_float_for_any_trades(pnl, seed):
    result = shuffle_trades(np.array(pnl), 1e6, n=50, seed=seed)
    assert np.all(result.final == math.fsum([1e6, *pnl]))


def test_three_trades_give_each_order_one_time_in_six():
    # every permutation of three trades is equally likely, so each (drawdown, low) pair turns up as often as the
    # orders that give it, over 6; path_stats computes each order's pair (e.g. -30, +50, -10 from 100: peaks 100,
    # 100, 120, 120; worst 70/100 - 1 = -0.3, low 70)
    pnl = np.array([50.0, -30.0, -10.0])
    expected = {}
    for order in itertools.permutations(pnl):
        key = tuple(round(float(v), 12) for v in path_stats(order, 100.0))
        expected[key] = expected.get(key, 0) + 1 / 6
    assert expected[(-0.3, 70.0)] == pytest.approx(1 / 6)
    k = 60_000
    result = shuffle_trades(pnl, 100.0, n=k, seed=4)
    seen = {}
    for pair in zip(result.max_drawdown.round(12), result.min_equity.round(12), strict=True):
        seen[pair] = seen.get(pair, 0) + 1
    assert set(seen) == set(expected)
    for key, p in expected.items():
        assert abs(seen[key] / k - p) < 4 * math.sqrt(p * (1 - p) / k), key


def test_risk_of_ruin_of_two_trades():
    # cash 50, trades -60 and +100: the loss first takes equity to -10 (ruined), the gain first never does
    result = shuffle_trades(np.array([-60.0, 100.0]), 50.0, n=20_000, seed=2)
    assert abs(result.risk_of_ruin - 0.5) < 4 * math.sqrt(0.25 / 20_000)
    assert shuffle_trades(np.array([-60.0, 100.0]), 50.0, n=1000, seed=2, ruin=-20.0).risk_of_ruin == 0.0
    assert shuffle_trades(np.array([-60.0, 100.0]), 50.0, n=1000, seed=2, ruin=-10.0).risk_of_ruin > 0  # touches


def test_shuffle_summary_and_actual_order():
    pnl = np.array([10.0, -40.0, 5.0, 30.0, -20.0])
    result = shuffle_trades(pnl, 100.0, n=500, seed=3)
    assert isinstance(result, ShuffleResult)
    assert result.actual_max_drawdown == pytest.approx(path_stats(pnl, 100.0)[0], rel=1e-15)  # 70/110 - 1
    assert result.actual_max_drawdown == pytest.approx(70 / 110 - 1, rel=1e-14)
    summary = result.summary()
    assert summary["final"] == 85.0
    assert summary["drawdown_percentile"] == np.mean(result.max_drawdown <= result.actual_max_drawdown)
    assert summary["max_drawdown_q05"] <= summary["max_drawdown_q50"] <= summary["max_drawdown_q95"] <= 0


def test_shuffles_are_reproducible_from_the_seed():
    pnl = np.random.default_rng(1).normal(0, 1, 50)
    a, b = shuffle_trades(pnl, 100.0, n=100, seed=7), shuffle_trades(pnl, 100.0, n=100, seed=7)
    np.testing.assert_array_equal(a.max_drawdown, b.max_drawdown)
    assert not np.array_equal(a.max_drawdown, shuffle_trades(pnl, 100.0, n=100, seed=8).max_drawdown)


# --- bootstrap_trades -----------------------------------------------------------------------------------------

@pytest.mark.slow
def test_bootstrap_band_covers_the_true_final_value_about_90_percent_of_the_time():
    # i.i.d. normal trades (mean 2, sd 10), 100 per sample: the true expected final value is cash + 100 * 2.
    # The 5-95 % percentile band of the bootstrap's final value is a 90 % interval for it; the percentile
    # bootstrap of a mean of 100 normals covers about 89.5 % (its variance uses ddof=0). 400 samples: the
    # binomial SE of the coverage is sqrt(0.9 * 0.1 / 400) = 0.015; tolerance 3.5 SE = 0.0525.
    rng = np.random.default_rng(12)
    hits = 0
    for k in range(400):
        sample = rng.normal(2.0, 10.0, 100)
        band = bootstrap_trades(sample, 1000.0, n=1000, seed=k, quantiles=(0.05, 0.95)).bands[:, -1]
        hits += band[0] <= 1000.0 + 200.0 <= band[1]
    assert abs(hits / 400 - 0.9) < 3.5 * math.sqrt(0.9 * 0.1 / 400)


def test_bootstrap_final_mean_is_cash_plus_trades_times_mean_pnl():
    pnl = np.array([12.0, -7.0, 3.5, -1.0, 20.0, -9.0])
    result = bootstrap_trades(pnl, 500.0, n=40_000, seed=5)
    se = result.final.std(ddof=1) / math.sqrt(result.final.size)
    assert abs(result.final.mean() - (500.0 + pnl.sum())) < 4 * se  # E[final] = cash + m * mean(pnl)


def test_bootstrap_of_two_trades_enumerated():
    # trades +1 and -1, two draws, cash 10: paths (+1,+1) dd 0, (+1,-1) 10/11 - 1, (-1,+1) -0.1, (-1,-1) -0.2,
    # each with probability 1/4; ruin at 8.5 is reached only by (-1,-1)
    result = bootstrap_trades(np.array([1.0, -1.0]), 10.0, n=40_000, seed=6, ruin=8.5)
    values, counts = np.unique(result.max_drawdown, return_counts=True)
    np.testing.assert_allclose(values, [-0.2, -0.1, 10 / 11 - 1, 0.0], rtol=1e-14)
    se = math.sqrt(0.25 * 0.75 / 40_000)
    assert np.all(np.abs(counts / 40_000 - 0.25) < 4 * se)
    assert result.risk_of_ruin == counts[0] / 40_000
    assert set(np.unique(result.final)) == {8.0, 10.0, 12.0}


def test_bootstrap_bands_of_identical_trades_are_the_one_path():
    result = bootstrap_trades(np.full(5, 3.0), 100.0, n=50, seed=0, quantiles=(0.1, 0.5, 0.9))
    assert isinstance(result, BootstrapResult)
    np.testing.assert_array_equal(result.bands, np.tile(100.0 + 3.0 * np.arange(6), (3, 1)))
    assert result.summary()["final_q50"] == 115.0
    assert result.summary()["risk_of_ruin"] == 0.0


def test_bootstrap_bands_are_the_quantiles_of_the_paths():
    # band k is the quantile of the equity after k trades: at k = 1 the draws are the trades themselves
    pnl = np.array([-5.0, 0.0, 5.0, 10.0])
    result = bootstrap_trades(pnl, 100.0, n=20_000, seed=9, quantiles=(0.0, 1.0))
    np.testing.assert_array_equal(result.bands[:, 1], [95.0, 110.0])
    np.testing.assert_array_equal(result.bands[:, -1], [80.0, 140.0])  # all four -5s, all four +10s


# --- block_bootstrap ------------------------------------------------------------------------------------------

def ar1(n, phi, seed):
    rng = np.random.default_rng(seed)
    x = np.zeros(n)
    eps = rng.normal(0.0, 0.01, n)
    for i in range(1, n):
        x[i] = phi * x[i - 1] + eps[i]
    return x + 0.001


def lag1(paths):
    """Mean over paths of the lag-1 autocorrelation of each column."""
    centred = paths - paths.mean(axis=0)
    return float(np.mean((centred[1:] * centred[:-1]).sum(axis=0) / (centred**2).sum(axis=0)))


@pytest.mark.parametrize("method", ["circular", "stationary"])
def test_block_bootstrap_keeps_the_mean_in_expectation(method):
    r = ar1(500, 0.5, 1)
    result = block_bootstrap(r, n=4000, seed=2, method=method)
    path_means = result.paths.mean(axis=0)
    se = path_means.std(ddof=1) / math.sqrt(path_means.size)
    assert abs(path_means.mean() - r.mean()) < 4 * se
    np.testing.assert_array_equal(result.paths, r[result.indices])


@pytest.mark.parametrize("method", ["circular", "stationary"])
def test_block_bootstrap_keeps_ar1_autocorrelation_better_than_iid(method):
    # AR(1) with φ = 0.6: sample lag-1 autocorrelation near 0.6. Blocks of b = 10 keep it but at the b - 1 of
    # every b joins inside a block: about 0.6 · 0.9 = 0.54; the i.i.d. bootstrap (b = 1) destroys it: about 0.
    r = ar1(1000, 0.6, 3)
    sample = lag1(r[:, None])
    block = block_bootstrap(r, n=500, seed=4, method=method)
    iid = block_bootstrap(r, n=500, block=1, seed=4, method=method)
    assert block.block == 10  # ceil(1000^(1/3))
    assert abs(lag1(block.paths) - sample) < abs(lag1(iid.paths) - sample)
    assert lag1(block.paths) > 0.45
    assert abs(lag1(iid.paths)) < 0.02  # SE of a lag-1 autocorrelation of 1000 i.i.d. values is ~0.03 / sqrt(500)


def test_circular_blocks_are_runs_of_consecutive_rows():
    result = block_bootstrap(np.arange(23.0), n=200, block=4, seed=5)
    step = np.diff(result.indices, axis=0) % 23
    inside = (np.arange(22) % 4) != 3  # position k and k+1 in the same block of 4
    assert np.all(step[inside] == 1)
    assert np.mean(step[~inside] != 1) > 0.8  # new blocks start anywhere (next row by chance 1 time in 23)


def test_stationary_blocks_have_the_mean_length():
    result = block_bootstrap(np.arange(400.0), n=500, block=8, seed=6, method="stationary")
    # a new block starts with probability 1/8 (and lands on the next row 1 time in 400): breaks ≈ (1/8)(399/400)
    breaks = np.diff(result.indices, axis=0) % 400 != 1
    p = (1 / 8) * (399 / 400)
    assert abs(breaks.mean() - p) < 4 * math.sqrt(p * (1 - p) / breaks.size)


def test_block_bootstrap_default_block_and_prices():
    assert block_bootstrap(np.zeros(27) + 0.01, n=2, seed=0).block == 3  # 27^(1/3) = 3 exactly
    assert block_bootstrap(np.zeros(28) + 0.01, n=2, seed=0).block == 4
    result = block_bootstrap(np.array([0.1, -0.1, 0.2]), n=4, block=1, seed=0)
    assert isinstance(result, BlockBootstrapResult)
    np.testing.assert_allclose(result.prices(100.0), 100.0 * np.cumprod(1.0 + result.paths, axis=0), rtol=1e-15)
    summary = result.summary()
    assert summary["mean"] == pytest.approx(result.paths.mean(), rel=1e-15)
    assert summary["block"] == 1.0


# --- errors ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("call", "named"), [
    (lambda: shuffle_trades(np.array([]), 100.0), "pnl"),
    (lambda: shuffle_trades(np.array([1.0, np.nan]), 100.0), "pnl"),
    (lambda: shuffle_trades(np.array([1.0]), 0.0), "cash"),
    (lambda: shuffle_trades(np.array([1.0]), 100.0, ruin=100.0), "ruin"),
    (lambda: shuffle_trades(np.array([1.0]), 100.0, n=0), "n"),
    (lambda: bootstrap_trades(np.array([1.0]), 100.0, quantiles=(0.5, 1.5)), "quantiles"),
    (lambda: block_bootstrap(np.array([0.1])), "returns"),
    (lambda: block_bootstrap(np.zeros(10), block=11), "block"),
    (lambda: block_bootstrap(np.zeros(10), block=0), "block"),
    (lambda: block_bootstrap(np.zeros(10), method="moving"), "method"),
])
def test_errors_name_the_argument(call, named):
    with pytest.raises(RobustnessError, match=named) as info:
        call()
    assert isinstance(info.value, BackgridError)
    assert isinstance(info.value, ValueError)


def reference_shuffles(pnl, cash, n, seed):
    """The kernel written plainly: Fisher–Yates from the same Generator's draws, then each path's statistics."""
    rng = np.random.default_rng(seed)
    work = list(pnl)
    out = []
    for _ in range(n):
        for i in range(len(work) - 1, 0, -1):
            j = int(rng.random() * (i + 1))
            work[i], work[j] = work[j], work[i]
        out.append((math.fsum([cash, *work]), *path_stats(work, cash)))
    return np.array(out)


def test_shuffle_kernel_equals_the_plain_reference_draw_for_draw():
    # Numba draws from the Generator's bit generator exactly as Generator.random() does, so the permutations match
    pnl = np.random.default_rng(8).normal(1.0, 30.0, 40)
    result = shuffle_trades(pnl, 500.0, n=300, seed=21)
    expected = reference_shuffles(pnl, 500.0, 300, 21)
    np.testing.assert_array_equal(result.final, expected[:, 0])
    np.testing.assert_allclose(result.max_drawdown, expected[:, 1], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(result.min_equity, expected[:, 2], rtol=1e-12)
