"""Hand-computed scenarios: volatility-target sizing (``size_type="volatility"``).

``size`` is the annualised volatility the position should carry and ``volatility`` the asset's own
annualised volatility per bar (e.g. ``hist_vol(close, ...) / 100``), read at the bar whose close decided
the entry. Units = equity x size / (volatility x fill price), capped so that value and commission stay
within leverage x equity (like ``percent`` sizing at ``size = leverage``), rounded down to the lot.

Conventions of ``test_scenarios.py``: cash 10,000, no costs, next-open fills, rows ``(open, high, low,
close)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backgrid.data.bars import MultiBars
from backgrid.engine import EngineError, backtest

from .scenario_kit import check_trade, exact, make_bars, mask, run

FLAT = (100.0, 100.0, 100.0, 100.0)
QUIET = (100.0, 101.0, 99.0, 100.0)
ROWS = [FLAT, QUIET, QUIET]   # signal at bar 0, fill at bar 1's open (100)


def vol(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def test_units_aim_at_the_target_volatility():
    # 10,000 x 0.10 / (0.20 x 100) = 50 units: a 20 %-a-year asset held at half the equity carries 10 %
    r = run(ROWS, entries=[0], size=0.1, size_type="volatility", volatility=vol(0.2, 0.05, 0.05))
    check_trade(r, 0, entry_idx=1, size=50)   # bar 1's volatility (0.05) decides nothing: no look-ahead


def test_shorts_are_sized_the_same_way():
    r = run(ROWS, short_entries=[0], size=0.1, size_type="volatility", volatility=0.25)
    check_trade(r, 0, side="short", size=40)  # 10,000 x 0.1 / (0.25 x 100)


@pytest.mark.parametrize(("volatility", "leverage", "units"), [
    (0.05, 1.0, 100),    # wants 10,000 x 0.1 / (0.05 x 100) = 200 units = 20,000: capped at 1 x equity
    (0.05, 2.0, 200),    # 2 x equity allows it all
    (0.05, 3.0, 200),
    (0.0, 1.0, 100),     # no volatility at all: as much as the leverage allows
])
def test_the_position_is_capped_by_the_leverage(volatility, leverage, units):
    r = run(ROWS, entries=[0], size=0.1, size_type="volatility", volatility=volatility, leverage=leverage)
    check_trade(r, 0, size=units)


def test_the_cap_leaves_room_for_the_commission():
    # the cap is 10,000 / (100 x 1.001) = 99.9000999... units; commission 0.1 % of 9,990.00999 = 9.99000999
    r = run(ROWS, entries=[0], size=0.1, size_type="volatility", volatility=0.01, costs={"commission": 0.001})
    check_trade(r, 0, size=10_000 / 100.1)
    assert r.state["cash"][0] == exact(0.0)


def test_units_are_rounded_down_to_the_lot():
    r = run(ROWS, entries=[0], size=0.1, size_type="volatility", volatility=0.3, lot_size=1)
    check_trade(r, 0, size=33)   # 10,000 x 0.1 / (0.3 x 100) = 33.3


def test_a_reversal_is_sized_on_the_equity_after_the_exit():
    rows = [FLAT,                    # 0: long signal, volatility 0.2
            (100, 101, 99, 100),     # 1: buy 50 u @ 100
            (100, 111, 100, 110),    # 2: short signal, volatility 0.25
            (110, 111, 104, 105),    # 3: sell 50 u @ 110 (equity 10,500), then short 10,500 x 0.1 / (0.25 x 110)
            (105, 106, 104, 105)]
    r = run(rows, entries=[0], short_entries=[2], size=0.1, size_type="volatility",
            volatility=vol(0.2, 0.9, 0.25, 0.9, 0.9))
    check_trade(r, 0, side="long", size=50, exit_price=110, pnl=500)
    check_trade(r, 1, side="short", entry_idx=3, size=10_500 * 0.1 / (0.25 * 110))


def test_no_volatility_at_the_deciding_bar_refuses_the_entry():
    r = run(ROWS, entries=[0, 1], size=0.1, size_type="volatility", volatility=vol(np.nan, 0.2, 0.2))
    assert r.orders[["bar", "status", "reason"]].to_numpy().tolist()[0] == [1, "rejected", "size_zero"]
    check_trade(r, 0, entry_idx=2, size=50)   # the signal at bar 1 (volatility 0.2) fills at bar 2


def test_volatility_per_symbol_in_a_portfolio():
    a = make_bars([FLAT, QUIET, QUIET], symbol="A")
    b = make_bars([(50, 50, 50, 50), (50, 51, 49, 50), (50, 51, 49, 50)], symbol="B")
    entries = pd.DataFrame({"A": mask(3, [0]), "B": mask(3, [0])}, index=a.index)
    volatility = pd.DataFrame({"A": [0.4] * 3, "B": [0.8] * 3}, index=a.index)
    r = backtest(MultiBars([a, b]), entries=entries, size=0.1, size_type="volatility", volatility=volatility)
    # A: 10,000 x 0.1 / (0.4 x 100) = 25 u (2,500); B on the equity then (still 10,000): 10,000 x 0.1 / (0.8 x 50)
    assert r.trades[["symbol", "size"]].to_numpy().tolist() == [["A", 25.0], ["B", 25.0]]


def test_volatility_from_a_series_of_percentages():
    """The historical volatility indicators give percent: divide by 100."""
    bars = make_bars([FLAT, QUIET, QUIET])
    hist_vol_percent = pd.Series([20.0, 20.0, 20.0], index=bars.index)
    r = backtest(bars, entries=mask(3, [0]), size=0.1, size_type="volatility", volatility=hist_vol_percent / 100)
    check_trade(r, 0, size=50)


@pytest.mark.parametrize(("options", "match"), [
    ({"size_type": "volatility"}, "size_type='volatility' needs volatility"),
    ({"volatility": 0.2}, "volatility is read by size_type='volatility' only; got size_type='equity'"),
    ({"size_type": "volatility", "volatility": -0.2}, "volatility must be finite and >= 0"),
    ({"size_type": "volatility", "volatility": 0.2, "size": 0.0}, r"size must be a number with 0 < x, got 0.0"),
    ({"size_type": "vol"}, "size_type must be one of 'units', 'cash', 'equity', 'risk', 'volatility', got 'vol'"),
])
def test_bad_volatility_options_are_refused_with_the_argument_named(options, match):
    with pytest.raises(EngineError, match=match):
        run(ROWS, entries=[0], **options)
