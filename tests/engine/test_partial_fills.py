"""Hand-computed scenarios: ``partial_fills=True`` fills the affordable part of an entry cash cannot cover.

Without it (the default) such an entry is refused whole. The affordable part is the most units u with
u x price + commission(u x price) <= cash x leverage, i.e. the smaller of
(cash x leverage - commission_fixed) / (price x (1 + commission)) and
(cash x leverage - commission_min) / price, rounded down to the lot.

Conventions of ``test_scenarios.py``: cash 10,000, no costs, next-open fills, rows ``(open, high, low,
close)``; the order record keeps the units asked for (``requested``) beside those filled (``size``).
"""

from __future__ import annotations

import pandas as pd
import pytest

from backgrid.data.bars import MultiBars
from backgrid.engine import EngineError, backtest

from .scenario_kit import check_trade, exact, make_bars, mask, run

FLAT = (100.0, 100.0, 100.0, 100.0)
QUIET = (100.0, 101.0, 99.0, 100.0)
ROWS = [FLAT, QUIET, QUIET]   # signal at bar 0, fill at bar 1's open (100)


def test_without_partial_fills_an_entry_cash_cannot_cover_is_refused_whole():
    r = run(ROWS, entries=[0], size=150, size_type="units")   # 150 x 100 = 15,000 > 10,000
    assert r.trades.empty
    assert r.orders[["status", "reason", "requested", "size"]].to_numpy().tolist() == [["rejected", "no_cash", 150, 0]]


def test_with_partial_fills_the_affordable_part_fills():
    r = run(ROWS, entries=[0], size=150, size_type="units", partial_fills=True)
    check_trade(r, 0, size=100)   # 10,000 / 100
    assert r.orders[["status", "requested", "size", "price"]].to_numpy().tolist() == [["filled", 150, 100, 100]]
    assert r.state["cash"][0] == exact(0.0)


@pytest.mark.parametrize(("costs", "lot_size", "units", "commission"), [
    # 0.1 %: 10,000 / (100 x 1.001) = 99.9000999 -> 99 whole units, commission 9.9
    ({"commission": 0.001}, 1, 99, 9.9),
    # 0.1 % with a minimum of 20: (10,000 - 20) / 100 = 99.8 units; 0.1 % of 9,980 = 9.98 -> the minimum, 20
    ({"commission": 0.001, "commission_min": 20}, 0, 99.8, 20),
    # 10 a fill: (10,000 - 10) / 100 = 99.9
    ({"commission_fixed": 10}, 0, 99.9, 10),
])
def test_the_affordable_part_pays_its_commission(costs, lot_size, units, commission):
    r = run(ROWS, entries=[0], size=150, size_type="units", partial_fills=True, lot_size=lot_size, costs=costs)
    check_trade(r, 0, size=units)
    assert r.orders["commission"].iloc[0] == exact(commission)
    assert r.state["cash"][0] == exact(10_000 - units * 100 - commission)   # never below zero
    assert r.state["cash"][0] >= -1e-9


def test_the_leverage_widens_what_is_affordable():
    r = run(ROWS, entries=[0], size=300, size_type="units", partial_fills=True, leverage=2.0)
    check_trade(r, 0, size=200)   # 2 x 10,000 / 100


def test_a_short_fills_its_affordable_part_too():
    r = run(ROWS, short_entries=[0], size=150, size_type="units", partial_fills=True)
    check_trade(r, 0, side="short", size=100)


def test_percent_sizing_over_a_commission_minimum_is_trimmed():
    # all in: 10,000 / 100 = 100 units, but the minimum commission (50) makes it 10,050 -> refused by default;
    # trimmed to (10,000 - 50) / 100 = 99.5 units with partial fills
    refused = run(ROWS, entries=[0], costs={"commission_min": 50})
    trimmed = run(ROWS, entries=[0], costs={"commission_min": 50}, partial_fills=True)
    assert refused.trades.empty
    check_trade(trimmed, 0, size=99.5, commission=50)


def test_nothing_affordable_is_still_refused():
    rows = [FLAT, (15_000, 15_000, 15_000, 15_000), (15_000, 15_000, 15_000, 15_000)]
    r = run(rows, entries=[0], size=2, size_type="units", lot_size=1, partial_fills=True)   # one unit: 15,000
    assert r.trades.empty
    assert r.orders[["status", "reason", "requested"]].to_numpy().tolist() == [["rejected", "no_cash", 2]]


def test_a_portfolio_entry_takes_the_cash_left():
    a = make_bars([FLAT, QUIET, QUIET], symbol="A")
    b = make_bars([(50, 50, 50, 50), (50, 51, 49, 50), (50, 51, 49, 50)], symbol="B")
    entries = pd.DataFrame({"A": mask(3, [0]), "B": mask(3, [0])}, index=a.index)
    # A: 60 % of 10,000 = 60 u @ 100, 4,000 cash left; B asks 60 % of 10,000 = 120 u @ 50 = 6,000 -> 80 u
    r = backtest(MultiBars([a, b]), entries=entries, size=0.6, partial_fills=True)
    assert r.trades[["symbol", "size"]].to_numpy().tolist() == [["A", 60.0], ["B", 80.0]]
    assert r.orders[["symbol", "requested", "size"]].to_numpy().tolist() == [["A", 60.0, 60.0], ["B", 120.0, 80.0]]


def test_partial_fills_must_be_a_boolean():
    with pytest.raises(EngineError, match="partial_fills must be True or False, got 'yes'"):
        run(ROWS, entries=[0], partial_fills="yes")
