"""PSR, DSR, MinTRL, MinBTL and E[max SR] against the papers' worked examples and closed forms computed here.

The references are written independently of the module: SciPy's normal distribution and moments, and the
printed numbers of Bailey & López de Prado (2014, "The deflated Sharpe ratio", section on the numerical
example) and Bailey, Borwein, López de Prado & Zhu (2014, "Pseudo-mathematics").
"""

import math

import numpy as np
import pytest
from scipy import integrate, stats

from backgrid.errors import BackgridError, RobustnessError
from backgrid.metrics.returns import probabilistic_sharpe_ratio
from backgrid.robustness import dsr, expected_max_sharpe, min_backtest_length, min_track_record_length, psr, sharpe

GAMMA = 0.5772156649015329  # Euler–Mascheroni


def closed_psr(sr, t, skew, kurt, benchmark):
    return stats.norm.cdf((sr - benchmark) * math.sqrt(t - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2))


def closed_emax(n, v):
    return math.sqrt(v) * ((1 - GAMMA) * stats.norm.ppf(1 - 1 / n) + GAMMA * stats.norm.ppf(1 - 1 / (n * math.e)))


# --- the paper's worked example -------------------------------------------------------------------------------
# SR 2.5 annualised over T = 1,250 daily returns (ppy 250), N = 100 trials whose annualised Sharpes have variance
# 0.5, skewness -3, kurtosis 10: the paper prints SR0 ≈ 0.1132 (daily) and DSR ≈ 0.9004.

def test_worked_example_expected_max_is_the_papers_daily_sr0():
    sr0 = expected_max_sharpe(100, 0.5 / 250)
    assert round(sr0, 4) == 0.1132
    assert sr0 == pytest.approx(closed_emax(100, 0.5 / 250), rel=1e-12)


def test_worked_example_dsr_is_the_papers_0_9004():
    value = dsr(sharpe=2.5, n=1250, skew=-3, kurtosis=10, n_trials=100, trials_variance=0.5, periods_per_year=250)
    assert round(value, 4) == 0.9004
    # the same number with every input converted to daily by hand
    daily = dsr(sharpe=2.5 / math.sqrt(250), n=1250, skew=-3, kurtosis=10, n_trials=100, trials_variance=0.5 / 250)
    assert daily == pytest.approx(value, rel=1e-14)
    assert value == pytest.approx(closed_psr(2.5 / math.sqrt(250), 1250, -3, 10, closed_emax(100, 0.002)), rel=1e-12)


def test_dsr_is_psr_against_the_expected_maximum():
    sr0 = expected_max_sharpe(20, 0.01)
    assert dsr(sharpe=0.2, n=500, skew=-1, kurtosis=6, n_trials=20, trials_variance=0.01) == pytest.approx(
        psr(sharpe=0.2, n=500, skew=-1, kurtosis=6, benchmark=sr0), rel=1e-15)


# --- PSR ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("sr", "t", "skew", "kurt", "benchmark"), [
    (0.1, 101, 0.0, 3.0, 0.0), (0.05, 1000, -1.5, 8.0, 0.02), (-0.03, 60, 0.7, 4.0, 0.0), (0.3, 24, 2.0, 9.0, 0.25),
])
def test_psr_from_moments_is_the_closed_form(sr, t, skew, kurt, benchmark):
    assert psr(sharpe=sr, n=t, skew=skew, kurtosis=kurt, benchmark=benchmark) == pytest.approx(
        closed_psr(sr, t, skew, kurt, benchmark), rel=1e-12)


def test_psr_hand_computed():
    # SR 0.1 over 101 normal returns: z = 0.1 * 10 / sqrt(1 + 2/4 * 0.01) = 0.997509..., Φ(z) = 0.840741...
    assert psr(sharpe=0.1, n=101) == pytest.approx(0.8407413278, abs=1e-9)


def test_psr_on_returns_uses_ddof1_sharpe_and_population_moments():
    r = np.random.default_rng(3).standard_t(5, 400) * 0.01 + 0.001
    expected = closed_psr(np.mean(r) / np.std(r, ddof=1), r.size, stats.skew(r), stats.kurtosis(r, fisher=False), 0.01)
    assert psr(r, benchmark=0.01) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_psr_on_returns_matches_the_metrics_module(seed):
    # same conventions (per-bar SR with ddof=1, population skewness, raw kurtosis, T - 1 under the root): the same
    # number. The differences are at the edges only: the metric answers NaN for fewer than 3 returns where psr
    # raises (it is a request that cannot work, not a sweep column to skip), and psr also takes the moments or
    # annualised inputs; both answer NaN for constant returns.
    r = np.random.default_rng(seed).normal(0.0005, 0.01, 250) ** 3 * 1e4 + 0.0002
    for benchmark in (0.0, 0.05):
        assert psr(r, benchmark=benchmark) == pytest.approx(probabilistic_sharpe_ratio(r, benchmark), rel=1e-13)


def test_psr_annualised_inputs():
    assert psr(sharpe=1.2, n=500, benchmark=0.5, periods_per_year=252) == pytest.approx(
        closed_psr(1.2 / math.sqrt(252), 500, 0, 3, 0.5 / math.sqrt(252)), rel=1e-12)


def test_psr_of_constant_returns_is_nan():
    assert math.isnan(psr(np.full(10, 0.01)))
    assert math.isnan(probabilistic_sharpe_ratio(np.full(10, 0.01)))
    assert math.isnan(probabilistic_sharpe_ratio(np.array([0.1, 0.2])))  # where psr raises (test_errors below)
    assert math.isnan(sharpe(np.full(10, 0.01)))


def test_sharpe_is_mean_over_sample_std():
    r = np.array([0.01, -0.02, 0.03, 0.0])
    # mean 0.005; squared deviations 2.5e-5, 6.25e-4, 6.25e-4, 2.5e-5 sum to 1.3e-3, / 3 -> variance
    assert sharpe(r) == pytest.approx(0.005 / math.sqrt(1.3e-3 / 3), rel=1e-14)


# --- E[max SR] ------------------------------------------------------------------------------------------------

def exact_emax(n):
    """E[max of n standard normals] = ∫ x · n φ(x) Φ(x)^(n-1) dx (numerical quadrature)."""
    value, _ = integrate.quad(lambda x: x * n * stats.norm.pdf(x) * stats.norm.cdf(x) ** (n - 1), -12, 12, limit=200)
    return value


@pytest.mark.parametrize("n", [10, 100, 1000])
def test_expected_max_against_monte_carlo_of_n_normals(n):
    # 20,000 draws of max of n normals with variance V; SE of the mean = sd(max) / sqrt(20,000) ≈ 0.4/141 ≈ 0.003.
    # The formula is an asymptotic approximation: it sits above the exact expectation by 2.4 % at N = 10, 0.9 %
    # at N = 100 and 0.45 % at N = 1,000 (quadrature below), so the tolerance is that bias (3 % / 1.2 % / 0.6 %)
    # plus 4 standard errors of the simulation.
    v = 0.25
    draws = np.random.default_rng(n).normal(0.0, math.sqrt(v), (20_000, n)).max(axis=1)
    se = draws.std(ddof=1) / math.sqrt(draws.size)
    bias = {10: 0.03, 100: 0.012, 1000: 0.006}[n]
    approx = expected_max_sharpe(n, v)
    assert abs(approx - draws.mean()) <= bias * approx + 4 * se
    exact = math.sqrt(v) * exact_emax(n)
    assert abs(draws.mean() - exact) <= 4 * se  # the simulation itself is right
    assert exact < approx <= exact * (1 + bias)


def test_expected_max_closed_form_and_scale():
    for n in (2, 7, 100, 10_000):
        assert expected_max_sharpe(n, 1.0) == pytest.approx(closed_emax(n, 1.0), rel=1e-12)
    assert expected_max_sharpe(50, 4.0) == pytest.approx(2 * expected_max_sharpe(50, 1.0), rel=1e-15)
    assert expected_max_sharpe(50, 0.0) == 0.0


# --- MinTRL and MinBTL ----------------------------------------------------------------------------------------

def test_min_track_record_length_hand_computed():
    # 1 + (1 + 2/4 * 0.01) * (Φ⁻¹(0.95) / 0.1)^2, Φ⁻¹(0.95) = 1.6448536269514722
    assert min_track_record_length(sharpe=0.1) == pytest.approx(1 + 1.005 * (1.6448536269514722 / 0.1) ** 2,
                                                                rel=1e-12)


@pytest.mark.parametrize(("sr", "skew", "kurt", "benchmark", "alpha"), [
    (0.1, 0.0, 3.0, 0.0, 0.05), (0.08, -2.0, 9.0, 0.02, 0.01), (0.2, 0.5, 3.5, 0.1, 0.1)])
def test_psr_at_min_track_record_length_is_one_minus_alpha(sr, skew, kurt, benchmark, alpha):
    # MinTRL inverts PSR: with T = MinTRL returns the PSR is exactly the confidence 1 - alpha
    t = min_track_record_length(sharpe=sr, skew=skew, kurtosis=kurt, benchmark=benchmark, alpha=alpha)
    z = (sr - benchmark) * math.sqrt(t - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2)
    assert stats.norm.cdf(z) == pytest.approx(1 - alpha, rel=1e-12)


def test_min_track_record_length_annualised_and_hopeless():
    assert min_track_record_length(sharpe=1.0, benchmark=0.5, periods_per_year=252) == pytest.approx(
        min_track_record_length(sharpe=1 / math.sqrt(252), benchmark=0.5 / math.sqrt(252)), rel=1e-14)
    assert min_track_record_length(sharpe=0.1, benchmark=0.1) == math.inf
    assert min_track_record_length(sharpe=-0.1) == math.inf


def test_min_backtest_length_papers_45_trials_in_5_years():
    # "Pseudo-mathematics": with 5 years of data, no more than 45 independent configurations for a target SR of 1
    assert min_backtest_length(45, 1.0) == pytest.approx(4.998, abs=5e-4)
    assert min_backtest_length(45, 1.0) < 5 < min_backtest_length(46, 1.0)
    assert min_backtest_length(100, 2.0) == pytest.approx(closed_emax(100, 1.0) ** 2 / 4, rel=1e-12)


# --- errors ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("call", "named"), [
    (psr, "sharpe"),
    (lambda: psr(sharpe=0.1), "n"),
    (lambda: psr(sharpe=0.1, n=1), "n"),
    (lambda: psr(sharpe=0.1, n=10, kurtosis=0.0), "kurtosis"),  # an excess kurtosis of a normal
    (lambda: psr(np.arange(5.0), sharpe=0.1), "not both"),
    (lambda: psr(np.array([0.1, 0.2])), "returns"),
    (lambda: psr(np.array([[0.1, 0.2, 0.3]])), "returns"),
    (lambda: psr(sharpe=0.1, n=10, periods_per_year=0), "periods_per_year"),
    (lambda: expected_max_sharpe(1, 1.0), "n_trials"),
    (lambda: expected_max_sharpe(10, -1.0), "variance"),
    (lambda: dsr(sharpe=0.1, n=10, n_trials=10, trials_variance=-1.0), "trials_variance"),
    (lambda: min_track_record_length(sharpe=0.1, alpha=1.5), "alpha"),
    (lambda: min_backtest_length(10, 0.0), "target_sharpe_annual"),
])
def test_errors_name_the_argument(call, named):
    with pytest.raises(RobustnessError, match=named) as info:
        call()
    assert isinstance(info.value, BackgridError)
    assert isinstance(info.value, ValueError)
