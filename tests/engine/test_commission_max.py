"""``commission_max``: a broker's cap on the commission of one fill (hand-computed)."""

from __future__ import annotations

import pytest

from backgrid.engine import OptionError
from tests.engine.scenario_kit import check_trade, exact, run

ROWS = [(100, 100, 100, 100), (100, 101, 99, 100), (110, 111, 109, 110), (110, 110, 110, 110)]


def test_the_cap_limits_each_fill_and_the_floor_still_applies():
    # 50 units: buy 5,000 at 100 (1 % = 50, capped at 20), sell 5,500 at 110 (55, capped at 20)
    r = run(ROWS, entries=[0], exits=[1], size=50, size_type="units", costs={"commission": 0.01, "commission_max": 20})
    check_trade(r, 0, entry_price=100, exit_price=110, commission=40, pnl=5_000 * 0.1 - 40)
    assert r.orders["commission"].tolist() == [exact(20), exact(20)]
    # 1 unit: 1 % of 100 is 1, below the floor of 5 and the cap of 20
    r = run(ROWS, entries=[0], exits=[1], size=1, size_type="units",
            costs={"commission": 0.01, "commission_min": 5, "commission_max": 20})
    assert r.orders["commission"].tolist() == [exact(5), exact(5)]


def test_without_a_cap_nothing_changes():
    capped = run(ROWS, entries=[0], exits=[1], size=50, size_type="units", costs={"commission": 0.01})
    assert capped.orders["commission"].tolist() == [exact(50), exact(55)]


def test_a_partial_fill_counts_the_capped_commission():
    # 1,000 cash, 20 units asked: at most (1,000 - 5) / 100 = 9.95 units under the cap of 5
    # (below the cap: 1,000 / (100 x 1.01) = 9.90 units), so value 995 + commission 5 = the cash
    r = run(ROWS, entries=[0], size=20, size_type="units", cash=1_000, partial_fills=True,
            costs={"commission": 0.01, "commission_max": 5})
    check_trade(r, 0, size=9.95, entry_price=100)
    assert r.orders["commission"].iloc[0] == exact(5)


def test_a_cap_below_the_floor_is_refused():
    with pytest.raises(OptionError, match=r"commission_max \(1\) is below commission_min \(5\)"):
        run(ROWS, entries=[0], costs={"commission_min": 5, "commission_max": 1})
    with pytest.raises(OptionError, match=r"commission_max must be a number \(cash\) with 0 <= x, or None"):
        run(ROWS, entries=[0], costs={"commission_max": -1})
