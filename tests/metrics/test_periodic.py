"""Periodic return tables against quantstats and hand-computed numbers."""

import numpy as np
import pandas as pd
import pytest
import quantstats.stats as qs

from backgrid.errors import MetricsError
from backgrid.metrics.periodic import monthly_returns, period_returns, yearly_returns


def _curve() -> pd.Series:
    rng = np.random.default_rng(7)
    idx = pd.date_range("2021-01-04", "2023-06-30", freq="B", tz="UTC")
    r = rng.normal(0.0004, 0.01, idx.size)
    return pd.Series(10_000 * np.cumprod(1 + r), index=idx)


def test_hand_computed() -> None:
    idx = pd.to_datetime(["2024-01-30", "2024-01-31", "2024-02-01", "2024-02-02"], utc=True)
    eq = pd.Series([110.0, 121.0, 108.9, 119.79], index=idx)
    # from start 100: Jan 110/100*121/110 - 1 = 0.21; Feb 108.9/121 * 119.79/108.9 - 1 = 119.79/121 - 1 = -0.01
    m = period_returns(eq, "M", start=100.0)
    np.testing.assert_allclose(m.to_numpy(), [0.21, -0.01], rtol=1e-12)
    # without start the first bar is the base: Jan 121/110 - 1 = 0.1
    assert period_returns(eq, "M").iloc[0] == pytest.approx(0.1, rel=1e-12)
    # the year from start 100 is 119.79 / 100 - 1 = 0.1979
    assert yearly_returns(eq, start=100.0).loc[2024] == pytest.approx(0.1979, rel=1e-12)
    table = monthly_returns(eq, start=100.0)
    assert np.isnan(table.loc[2024, "Mar"])  # no bar in March: NaN, quantstats says 0
    assert table.loc[2024, "year"] == pytest.approx(0.1979, rel=1e-12)


def test_monthly_table_matches_quantstats() -> None:
    eq = _curve()
    r = eq.pct_change().fillna(0.0)
    ours = monthly_returns(eq)
    theirs = qs.monthly_returns(r.tz_convert(None), eoy=True, compounded=True)
    np.testing.assert_allclose(ours.iloc[:, :12].fillna(0.0).to_numpy(),
                               theirs[[m.upper() for m in ours.columns[:12]]].to_numpy(dtype=float), rtol=1e-10)
    np.testing.assert_allclose(ours["year"].to_numpy(), theirs["EOY"].to_numpy(dtype=float), rtol=1e-10)


@pytest.mark.parametrize(("freq", "rule"), [("W", "W"), ("M", "ME"), ("Q", "QE"), ("Y", "YE")])
def test_periods_match_compounded_resample(freq: str, rule: str) -> None:
    eq = _curve()
    r = eq.pct_change().fillna(0.0)
    expected = r.resample(rule).apply(lambda x: (1 + x).prod() - 1)
    np.testing.assert_allclose(period_returns(eq, freq).to_numpy(), expected.to_numpy(), rtol=1e-12)
    assert str(period_returns(eq, freq).index.tz) == "UTC"


def test_errors_name_the_field() -> None:
    with pytest.raises(MetricsError, match="freq"):
        period_returns(_curve(), "D")
    with pytest.raises(MetricsError, match="DatetimeIndex"):
        period_returns(pd.Series([1.0, 2.0]), "M")
