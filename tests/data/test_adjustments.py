"""Raw and adjusted views (backgrid.data.adjust): hand-computed series in every direction, exact round trips."""

import numpy as np
import pytest

import backgrid
from backgrid.data import adjust
from backgrid.data.bars import Bars
from backgrid.errors import DataError

DAY = 86_400 * 10**9
# Five daily bars as traded: a 2-for-1 split on bar 3, a $2.00 dividend ex on bar 2 (before the split, so
# $1.00 a split-adjusted share) and a $1.04 dividend ex on bar 4 (after it).
RAW_CLOSE = [100.0, 102.0, 104.0, 52.0, 53.0]
SPLITS = [1.0, 1.0, 1.0, 2.0, 1.0]
RAW_DIVIDEND = [0.0, 0.0, 2.0, 0.0, 1.04]
RAW_VOLUME = [1000.0, 1000.0, 1000.0, 2000.0, 2000.0]

# raw -> splits: bars 0..2 (before the split) divided by 2, their volume times 2, their dividend divided by 2
SPLIT_CLOSE = [50.0, 51.0, 52.0, 52.0, 53.0]
SPLIT_VOLUME = [2000.0] * 5
SPLIT_DIVIDEND = [0.0, 0.0, 1.0, 0.0, 1.04]
# splits -> total: the dividend on bar 4 gives 1 - 1.04 / close[3] = 1 - 1.04 / 52 = 0.98 on bars 0..3; the one on
# bar 2 gives 1 - 1.0 / close[1] = 1 - 1 / 51 = 50/51 on bars 0..1
TOTAL_CLOSE = [50 * 50 / 51 * 0.98,  # 48.0392...
               51 * 50 / 51 * 0.98,  # 49.0
               52 * 0.98,  # 50.96
               52 * 0.98,  # 50.96
               53.0]
TOTAL_DIVIDEND = [0.0, 0.0, 1.0 * 0.98, 0.0, 1.04]  # each scaled like its own bar's prices


def series(close, *, volume, dividend, adjustment, spread=1.0):
    """Open ``close - spread/2``, high ``close + spread``, low ``close - spread`` (``spread`` scales like prices)."""
    close = np.asarray(close)
    spread = np.broadcast_to(np.asarray(spread, dtype=np.float64), close.shape)
    return Bars("XYZ", "1d", np.arange(5, dtype=np.int64) * DAY, close - spread / 2, close + spread, close - spread,
                close, volume, split_factor=SPLITS, dividend=dividend, calendar="crypto", adjustment=adjustment)


def raw():
    return series(RAW_CLOSE, volume=RAW_VOLUME, dividend=RAW_DIVIDEND, adjustment="raw",
                  spread=[2.0, 2.0, 2.0, 1.0, 1.0])  # a $2 spread before the split is $1 after it


def split_adjusted():
    return series(SPLIT_CLOSE, volume=SPLIT_VOLUME, dividend=SPLIT_DIVIDEND, adjustment="splits")


def total_adjusted():
    return series(TOTAL_CLOSE, volume=SPLIT_VOLUME, dividend=TOTAL_DIVIDEND, adjustment="total",
                  spread=[50 / 51 * 0.98, 50 / 51 * 0.98, 0.98, 0.98, 1.0])


def assert_same(got, expected):
    assert got.adjustment == expected.adjustment
    assert got.columns == expected.columns
    for name in expected.columns:
        np.testing.assert_allclose(got.column(name), expected.column(name), rtol=1e-12, atol=0, err_msg=name)


@pytest.mark.parametrize(("start", "to", "expected"), [
    (raw, "splits", split_adjusted), (raw, "total", total_adjusted), (split_adjusted, "total", total_adjusted),
    (split_adjusted, "raw", raw), (total_adjusted, "splits", split_adjusted), (total_adjusted, "raw", raw),
])
def test_every_direction_matches_the_hand_computed_series(start, to, expected):
    assert_same(adjust(start(), to), expected())


def test_the_split_factors_are_kept_as_they_are():
    assert adjust(raw(), "total").split_factor.tolist() == SPLITS


@pytest.mark.parametrize("via", ["splits", "total"])
def test_round_trips_return_the_raw_series(via):
    rng = np.random.default_rng(7)
    n = 500
    close = 50 + np.cumsum(rng.normal(0, 0.5, n)) + 50
    splits = np.where(rng.random(n) < 0.01, rng.choice([2.0, 3.0, 0.5], n), 1.0)
    dividend = np.where(rng.random(n) < 0.02, close * 0.01, 0.0)
    bars = Bars("R", "1d", np.arange(n, dtype=np.int64) * DAY, close, close + 1, close - 1, close,
                rng.uniform(1e3, 1e4, n), split_factor=splits, dividend=dividend, calendar="crypto")
    back = adjust(adjust(bars, via), "raw")
    assert back.adjustment == "raw"
    for name in bars.columns:
        np.testing.assert_allclose(back.column(name), bars.column(name), rtol=1e-12, atol=0, err_msg=name)


def test_yahoo_adj_close_is_our_total_adjusted_close():
    # Yahoo's Close is split-adjusted; its Adj Close multiplies every close before an ex-date by
    # 1 - dividend / close the day before, so that day's Adj Close is its Close less the dividend:
    # dividend 0.204 ex on bar 3, close[2] = 20.4 -> factor 1 - 0.204 / 20.4 = 0.99 on bars 0..2;
    # the 2:1 split on bar 1 is already in Close and changes nothing more.
    close = [20.0, 20.5, 20.4, 20.6, 20.2]
    adj_close = [20.0 * 0.99, 20.5 * 0.99, 20.4 - 0.204, 20.6, 20.2]  # 19.8, 20.295, 20.196, 20.6, 20.2
    bars = Bars("XYZ", "1d", np.arange(5, dtype=np.int64) * DAY, close, close, close, close, [1e6] * 5,
                split_factor=[1.0, 2.0, 1.0, 1.0, 1.0], dividend=[0.0, 0.0, 0.0, 0.204, 0.0], adjustment="splits")
    np.testing.assert_allclose(adjust(bars, "total").close, adj_close, rtol=1e-12, atol=0)


def test_nothing_to_do_returns_the_series_and_no_columns_mean_no_actions():
    bars = split_adjusted()
    assert adjust(bars, "splits") is bars
    plain = Bars("P", "1d", np.arange(2, dtype=np.int64) * DAY, [1.0, 2.0], [1.0, 2.0], [1.0, 2.0], [1.0, 2.0],
                 [5.0, 5.0], calendar="crypto")
    total = adjust(plain, "total")
    assert (total.adjustment, total.close.tolist(), total.volume.tolist()) == ("total", [1.0, 2.0], [5.0, 5.0])


def test_what_cannot_be_undone_is_refused():
    plain = {"ts": np.arange(2, dtype=np.int64) * DAY, "open": [1.0, 2.0], "high": [1.0, 2.0], "low": [1.0, 2.0],
             "close": [1.0, 2.0], "volume": [5.0, 5.0], "calendar": "crypto"}
    with pytest.raises(DataError, match=r"'P' is adjusted for dividends and has no dividend column"):
        adjust(Bars("P", "1d", adjustment="total", **plain), "splits")
    with pytest.raises(DataError, match=r"'P' is split-adjusted and has no split_factor column"):
        adjust(Bars("P", "1d", adjustment="splits", **plain), "raw")
    with pytest.raises(DataError, match=r"to must be one of raw, splits, total, got 'adjusted'"):
        adjust(Bars("P", "1d", **plain), "adjusted")


def test_impossible_actions_name_their_bar():
    ts = np.arange(2, dtype=np.int64) * DAY
    one = [1.0, 1.0]
    with pytest.raises(DataError, match=r"split_factor must be positive .* bar 1 \(1970-01-02"):
        adjust(Bars("P", "1d", ts, one, one, one, one, one, split_factor=[1.0, 0.0], calendar="crypto"), "splits")
    with pytest.raises(DataError, match=r"the dividend 1.5 going ex on bar 1 .* is not less than the close before it"):
        adjust(Bars("P", "1d", ts, one, one, one, one, one, dividend=[0.0, 1.5], calendar="crypto"), "total")


def test_adjust_is_exported_at_the_top_level():
    assert backgrid.adjust is adjust
