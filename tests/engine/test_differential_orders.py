"""Differential tests of stop distances, limit / stop entries and order records against the peers.

Cases are generated like ``test_differential.py``'s (random-walk daily bars with opening gaps, random or
SMA-cross signals, fixed units, every case ending flat; see that module for why) and adapted to the
peers as ``tests/engine/peers.py`` describes. A case passes when the trades are the same (bars, side,
units, prices; commission to 1e-9) and the final equity agrees to 1e-9 relative; against backtrader the
fills backgrid records in ``Result.orders`` must also be backtrader's fills, one for one (bar, side,
units, price, commission).

- Distances: per-bar arrays, 2 % to 6 % of the close at each bar (like an ATR multiple, which moves
  with the market), NaN on about one bar in ten (no stop for a trade decided there). backtesting.py
  checks its levels against the deciding close, so its cases cap opening gaps below 0.9 x the smallest
  distance fraction (as ``test_differential.py`` does for percent levels).
- Limit and stop entries: the entry price is the deciding close moved 0 to 2 % (below it for buy limits
  and sell stops, above for sell limits and buy stops), NaN on about one signal in twenty, working 1 to 4
  bars; no stops (the peers treat the bar of a limit fill differently, see ``peers.py``).
- Trailing distance: a constant amount against backtrader's ``StopTrail(trailamount=...)``, on the
  trail-compatible data of ``test_differential.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from backgrid.engine import Result, backtest
from backgrid.engine.enums import OrderStatus
from tests.engine.peers import FILL_COLUMNS, Case, PeerRun, run_backtesting_py, run_backtrader
from tests.engine.test_differential import COMMISSIONS, Scenario, _ohlc, _signals, assert_same

BTPY_CASES = 24
BACKTRADER_CASES = 24


@dataclass(frozen=True)
class Family:
    """What a family of generated cases exercises."""

    name: str
    stop_distance: bool = False
    take_distance: bool = False
    entry_type: str = "market"
    trailing_stop_distance: bool = False  # backtrader only, long only, trail-compatible data


BTPY_FAMILIES = (
    Family("stop_distance", stop_distance=True),
    Family("take_distance", take_distance=True),
    Family("stop_and_take_distance", stop_distance=True, take_distance=True),
    Family("limit_entries", entry_type="limit"),
    Family("stop_entries", entry_type="stop"),
    Family("market_entries"),
)
BACKTRADER_FAMILIES = (*BTPY_FAMILIES, Family("trailing_stop_distance", trailing_stop_distance=True))


def _distances(rng: np.random.Generator, close: np.ndarray, low: float, high: float) -> np.ndarray:
    distance = close * rng.uniform(low, high, close.size)
    distance[rng.random(close.size) < 0.1] = np.nan
    return distance


def _entry_prices(rng: np.random.Generator, close: np.ndarray, entries: np.ndarray, kind: str) -> np.ndarray:
    """Buy limits / sell stops below the close, sell limits / buy stops above it; NaN now and then."""
    below = close * (1.0 - rng.uniform(0.0, 0.02, close.size))
    above = close * (1.0 + rng.uniform(0.0, 0.02, close.size))
    buy_below = kind == "limit"
    price = np.where(entries == buy_below, below, above)
    price[rng.random(close.size) < 0.05] = np.nan
    return price


def make_case(peer: str, seed: int) -> tuple[Family, Case]:
    """The case of ``seed`` for ``peer`` ("backtesting.py" or "backtrader")."""
    families = BTPY_FAMILIES if peer == "backtesting.py" else BACKTRADER_FAMILIES
    family = families[seed % len(families)]
    rng = np.random.default_rng([seed, len(peer), 7])
    n = int(rng.integers(150, 300))
    low, high = 0.02, 0.06
    max_gap = min(0.015, 0.9 * low) if peer == "backtesting.py" else 0.04
    frame = _ohlc(rng, n, max_gap=max_gap, trailing="long" if family.trailing_stop_distance else "")
    close = frame["close"].to_numpy()
    scenario = Scenario(family.name, long=True, short=not family.trailing_stop_distance)
    entries, exits, short_entries, short_exits = _signals(rng, close, scenario)
    case = Case(
        name=f"{peer} {family.name} seed {seed}", frame=frame, entries=entries, exits=exits,
        short_entries=short_entries, short_exits=short_exits,
        commission=COMMISSIONS[(seed // len(families)) % len(COMMISSIONS)],
        size=float(rng.choice([1, 7, 10, 25])),
        stop_loss_distance=_distances(rng, close, low, high) if family.stop_distance else None,
        take_profit_distance=_distances(rng, close, low, high) if family.take_distance else None,
        trailing_stop_distance=float(close[0] * rng.uniform(0.02, 0.05)) if family.trailing_stop_distance else None,
        entry_type=family.entry_type,  # type: ignore[arg-type]
        entry_price=_entry_prices(rng, close, entries, family.entry_type) if family.entry_type != "market" else None,
        entry_expiry=int(rng.integers(1, 5)),
    )
    return family, case


def run_backgrid(case: Case) -> Result:
    limit_or_stop = case.entry_type != "market"
    return backtest(case.frame, entries=case.entries, exits=case.exits, short_entries=case.short_entries,
                    short_exits=case.short_exits, stop_loss_distance=case.stop_loss_distance,
                    take_profit_distance=case.take_profit_distance, trailing_stop_distance=case.trailing_stop_distance,
                    entry_type=case.entry_type, entry_price=case.entry_price,
                    entry_expiry=case.entry_expiry if limit_or_stop else None, size=case.size, size_type="units",
                    costs={"commission": case.commission}, cash=case.cash)


def assert_same_fills(ours: Result, theirs: PeerRun) -> None:
    """backgrid's filled orders are the peer's fills, in the same order."""
    assert theirs.fills is not None
    records = ours.order_records[ours.order_records["status"] == OrderStatus.FILLED]
    mine = pd.DataFrame({column: records[column] for column in FILL_COLUMNS})
    assert len(mine) == len(theirs.fills), f"{len(mine)} fills, peer {len(theirs.fills)}"
    for column in ("bar", "side", "size"):
        np.testing.assert_array_equal(mine[column].to_numpy(), theirs.fills[column].to_numpy(), err_msg=column)
    np.testing.assert_allclose(mine["price"], theirs.fills["price"], rtol=1e-12, atol=0)
    np.testing.assert_allclose(mine["commission"], theirs.fills["commission"], rtol=1e-9, atol=1e-12)


def _ids(peer: str, count: int) -> list[object]:
    return [pytest.param(seed, id=f"{make_case(peer, seed)[0].name}-seed{seed}") for seed in range(count)]


@pytest.mark.parametrize("seed", _ids("backtesting.py", BTPY_CASES))
def test_same_as_backtesting_py(seed):
    _, case = make_case("backtesting.py", seed)
    assert_same(run_backgrid(case), run_backtesting_py(case))


@pytest.mark.parametrize("seed", _ids("backtrader", BACKTRADER_CASES))
def test_same_as_backtrader(seed):
    family, case = make_case("backtrader", seed)
    ours = run_backgrid(case)
    theirs = run_backtrader(case)
    # backtrader's trail level is p - amount, backgrid's the same: prices agree bit for bit but for the trail
    assert_same(ours, theirs, price_rtol=1e-12 if family.trailing_stop_distance else 0.0)
    assert_same_fills(ours, theirs)


def test_the_generated_cases_exercise_every_path():
    """Distances fire both ways, limit and stop orders fill, gap, expire and get cancelled."""
    counts: dict[str, int] = dict.fromkeys(
        ("stop_loss", "take_profit", "trailing_stop", "limit", "stop", "limit_gap", "stop_gap", "expired",
         "cancelled", "no_price", "no_stop_at_nan"), 0)
    for peer, count in (("backtesting.py", BTPY_CASES), ("backtrader", BACKTRADER_CASES)):
        for seed in range(count):
            _, case = make_case(peer, seed)
            r = run_backgrid(case)
            orders, trades = r.orders, r.trades
            for reason in ("stop_loss", "take_profit", "trailing_stop"):
                counts[reason] += int((trades["exit_reason"] == reason).sum())
            filled = orders[orders["status"] == "filled"]
            opens = case.frame["open"].to_numpy()[filled["bar"].to_numpy()]
            for kind in ("limit", "stop"):
                mine = filled["type"] == kind
                counts[kind] += int(mine.sum())
                counts[f"{kind}_gap"] += int((mine & (filled["price"].to_numpy() == opens)
                                              & (filled["price"] != filled["order_price"])).sum())
            for reason in ("expired", "cancelled", "no_price"):
                counts[reason] += int((orders["reason"] == reason).sum())
            if case.stop_loss_distance is not None:
                decided = trades["entry_idx"].to_numpy() - 1
                counts["no_stop_at_nan"] += int(np.isnan(case.stop_loss_distance[decided]).sum())
    assert min(counts.values()) >= 5, counts


def test_a_limit_entry_case_by_hand_in_all_three():
    """A buy limit that gaps in, and a reversal whose sell limit is already below the market.

    Bar 1: long signal, buy limit 97 working 2 bars. Bar 2 misses it (low 97.5); bar 3 opens below it
    (96): filled at the open. Bar 5: short signal with a sell limit at 96: the long is sold at bar 6's
    open (98), then the sell limit, below the market, fills at once at max(open, limit) = 98. Bar 7: exit
    signals; the short is covered at bar 8's open (95).
    """
    rows = [(100, 101, 99, 100), (100, 101, 99, 100), (100, 101, 97.5, 99), (96, 98, 95, 97),
            (97, 99, 96, 98), (98, 99, 97, 98), (98, 99, 94, 95), (95, 96, 94, 95), (95, 96, 94, 95)]
    frame = pd.DataFrame(rows, columns=["open", "high", "low", "close"],
                         index=pd.bdate_range("2021-01-04", periods=len(rows), name="date")).assign(volume=1_000.0)
    n = len(rows)
    flags = {name: np.zeros(n, bool) for name in ("entries", "exits", "short_entries", "short_exits")}
    flags["entries"][1] = True
    flags["short_entries"][5] = True
    flags["exits"][7] = flags["short_exits"][7] = True
    price = np.full(n, np.nan)
    price[1] = 97.0
    price[5] = 96.0
    case = Case(name="hand", frame=frame, **flags, entry_type="limit", entry_price=price, entry_expiry=2)
    ours = run_backgrid(case)
    assert ours.trades[["side", "entry_idx", "entry_price", "exit_idx", "exit_price"]].to_numpy().tolist() == [
        ["long", 3, 96.0, 6, 98.0], ["short", 6, 98.0, 8, 95.0]]
    assert_same(ours, run_backtesting_py(case))
    theirs = run_backtrader(case)
    assert_same(ours, theirs)
    assert_same_fills(ours, theirs)
