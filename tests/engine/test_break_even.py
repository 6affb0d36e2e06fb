"""Break-even: once a trade has gained ``break_even`` of its entry fill price, its stop-loss moves to that price.

The move is decided with a bar's extreme, after that bar's stops were tested, and applies from the next
bar; the exit it causes is a stop-loss. Hand-computed scenarios, then the rule against a slow reference.
"""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backgrid.data.bars import MultiBars
from backgrid.engine import EngineError, backtest
from tests.engine.guard_reference import assert_matches, hourly_market, reference
from tests.engine.scenario_kit import check_trade, exact, make_bars, mask, run

UNITS = {"size": 10, "size_type": "units"}
ROWS = [
    (100, 101, 99, 100),     # 0: the entry signal
    (100, 106, 99, 105),     # 1: bought 10 at 100. The high 106 >= 105 arms the break-even for bar 2 on, so
                             #    the low 99, below the entry in this same bar, does not stop the trade
    (105, 106, 100.5, 102),  # 2: the low 100.5 stays above the new stop at 100: held
    (102, 103, 95, 96),      # 3: the low reaches 100: stopped at 100 (the 10 % stop-loss sits at 90)
    (96, 97, 95, 96),
]


def test_the_stop_moves_to_the_entry_once_the_trade_has_gained_the_fraction():
    r = run(ROWS, entries=[0], break_even=0.05, stop_loss=0.1, **UNITS)
    assert len(r.trades) == 1
    check_trade(r, 0, entry_idx=1, exit_idx=3, entry_price=100.0, exit_price=100.0, pnl=0.0,
                exit_reason="stop_loss")
    exit_order = r.orders.iloc[-1]
    assert (exit_order["bar"], exit_order["type"], exit_order["order_price"]) == (3, "stop_loss", 100.0)


def test_without_break_even_the_same_trade_keeps_its_stop_loss():
    r = run(ROWS, entries=[0], stop_loss=0.1, **UNITS)
    check_trade(r, 0, entry_idx=1, exit_idx=4, exit_price=96.0, exit_reason="end", open=True)


def test_the_move_also_applies_without_a_stop_loss():
    r = run(ROWS, entries=[0], break_even=0.05, **UNITS)
    check_trade(r, 0, exit_idx=3, exit_price=100.0, exit_reason="stop_loss")


def test_a_gain_exactly_at_the_fraction_arms_it_and_just_below_does_not():
    # bar 1's high is the best price the trade sees: 100 x 1.05 = 105.0 is reached, 104.99 is not
    at = [ROWS[0], (100, 105, 99, 104), (104, 104.5, 100.5, 102), *ROWS[3:]]
    below = [ROWS[0], (100, 104.99, 99, 104), (104, 104.5, 100.5, 102), *ROWS[3:]]
    check_trade(run(at, entries=[0], break_even=0.05, **UNITS), 0, exit_idx=3, exit_reason="stop_loss")
    check_trade(run(below, entries=[0], break_even=0.05, **UNITS), 0, exit_idx=4, exit_reason="end")


def test_a_gap_through_the_moved_stop_fills_at_the_open():
    rows = [*ROWS[:3], (98, 99, 95, 96), ROWS[4]]
    r = run(rows, entries=[0], break_even=0.05, **UNITS)
    check_trade(r, 0, exit_idx=3, exit_price=98.0, pnl=-20.0, exit_reason="stop_loss")


def test_a_short_mirrors_it():
    rows = [
        (100, 101, 99, 100),
        (100, 101, 94, 95),     # sold 10 at 100; the low 94 <= 95 arms the break-even
        (95, 99.5, 94, 97),     # the high 99.5 stays below 100: held
        (97, 101, 96, 100.5),   # the high reaches 100: bought back at 100
    ]
    r = run(rows, short_entries=[0], break_even=0.05, stop_loss=0.1, **UNITS)
    check_trade(r, 0, side="short", entry_idx=1, exit_idx=3, exit_price=100.0, pnl=0.0, exit_reason="stop_loss")


def test_the_fraction_and_the_level_are_the_entry_fill_price_slippage_included():
    # bought at 100 x 1.001 = 100.1: armed once the high reaches 100.1 x 1.05 = 105.105 (bar 1's 106 does);
    # stopped at 100.1 in bar 3, sold at 100.1 x 0.999 = 99.9999
    r = run(ROWS, entries=[0], break_even=0.05, costs={"slippage": 0.001}, **UNITS)
    check_trade(r, 0, entry_price=100.1, exit_idx=3, exit_price=99.9999, pnl=10 * (99.9999 - 100.1),
                exit_reason="stop_loss")


def test_a_higher_trailing_stop_still_wins():
    # after bar 1 the trail sits at 106 x 0.98 = 103.88, above the break-even level 100: bar 2's low 100.5
    # reaches the trail, which fills
    r = run(ROWS, entries=[0], break_even=0.05, trailing_stop=0.02, **UNITS)
    check_trade(r, 0, exit_idx=2, exit_price=106 * 0.98, exit_reason="trailing_stop")


def test_a_limit_entry_counts_only_the_part_of_the_bar_after_its_fill():
    # a buy limit at 98 fills inside bar 1; after the fill the bar is taken to reach no higher than its close
    # (99), so bar 1's high 106 does not arm the break-even (98 x 1.05 = 102.9). Bar 2's high 103 does: bar 2's
    # low 97.5 is still tested against the old stop, and bar 3's low 97 stops the trade at 98.
    rows = [(100, 100, 100, 100), (100, 106, 97, 99), (99, 103, 97.5, 100), (100, 101, 97, 99), (99, 99, 99, 99)]
    data = make_bars(rows)
    r = backtest(data, entries=mask(5, [0]), entry_type="limit", entry_price=np.full(5, 98.0), break_even=0.05,
                 stop_loss=0.1, **UNITS)
    check_trade(r, 0, entry_idx=1, entry_price=98.0, exit_idx=3, exit_price=98.0, exit_reason="stop_loss")


def test_one_value_per_column_runs_side_by_side():
    data = make_bars(ROWS)
    r = backtest(data, entries=mask(5, [0]), break_even=[0.05, 0.2], **UNITS)
    trades = r.trades.sort_values("column")
    assert trades["exit_reason"].tolist() == ["stop_loss", "end"]
    assert trades["exit_idx"].tolist() == [3, 4]
    none = backtest(data, entries=mask(5, [0]), break_even=[0.05, math.nan], **UNITS)
    assert none.trades.sort_values("column")["exit_reason"].tolist() == ["stop_loss", "end"]


def test_a_portfolio_takes_one_value_per_symbol():
    a, b = make_bars(ROWS, symbol="A"), make_bars(ROWS, symbol="B")
    entries = pd.DataFrame({"A": mask(5, [0]), "B": mask(5, [0])}, index=a.index)
    r = backtest(MultiBars([a, b]), entries=entries, break_even=[0.05, math.nan], **UNITS)
    trades = r.trades.set_index("symbol")
    assert trades.loc["A", "exit_reason"] == "stop_loss"
    assert trades.loc["A", "exit_price"] == exact(100.0)
    assert trades.loc["B", "exit_reason"] == "end"


@pytest.mark.parametrize(("value", "message"), [
    (0, r"break_even must be a number \(fraction\) with 0 < x, or None for no break-even, got 0"),
    (-0.1, r"break_even must be a number \(fraction\) with 0 < x, .* got -0.1"),
    ("much", r"break_even must be a number \(fraction\) with 0 < x, .* got 'much'"),
    ([0.1, 0.2], r"break_even has 2 values, but the run has 3 column\(s\) \(one value per column\)"),
])
def test_bad_values_are_refused_by_name(value, message):
    data = make_bars(ROWS)
    entries = mask(5, [0]) if not isinstance(value, list) else np.column_stack([mask(5, [0])] * 3)
    with pytest.raises(EngineError, match=message):
        backtest(data, entries=entries, break_even=value)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.sampled_from([1, -1]), st.sampled_from([None, 0.01, 0.03]),
       st.sampled_from([0.003, 0.008, 0.02]), st.sampled_from(["next_open", "same_close"]))
def test_break_even_matches_the_reference(seed, side, stop_loss, break_even, fill):
    rng = np.random.default_rng(seed)
    bars = hourly_market(rng, int(rng.integers(40, 160)))
    entries, exits = rng.random(len(bars)) < 0.15, rng.random(len(bars)) < 0.05
    signals = {"entries": entries, "exits": exits} if side > 0 else {"short_entries": entries, "short_exits": exits}
    result = backtest(bars, **signals, stop_loss=stop_loss, break_even=break_even, fill=fill, **UNITS)
    assert_matches(result, reference(bars, entries, exits, side=side, stop_loss=stop_loss, break_even=break_even,
                                     fill=fill))
