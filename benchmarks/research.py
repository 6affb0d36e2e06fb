"""Research benchmarks R1-R4: optimisation, walk-forward, Bayesian search and trade shuffles, in one run.

Reproduce: ``PYTHONPATH=src:. python -m benchmarks --suite research`` (about 4 minutes on 2 cores;
``--repeat`` sets the interleaved rounds of R1 and R2, default 1 here: their calls take seconds).

Data: the first 100k bars of the synthetic DEMO-BTC one-minute market (:func:`benchmarks.engine.minutes`);
rules: the engine suite's (long only, all in, commission 0.1 % of traded value, orders decided at a close
fill at the next open, starting cash 1e12 so that no engine meets a dust threshold).

- R1: W2 of the engine suite (SMA fast in 5..50, slow in 20..200 step 5, fast < slow: 1,590 sets) written as
  a strategy document with parameters ``fast``/``slow`` and the condition ``fast < slow``, through
  ``optimize(method="grid", objective="total_return")``; against the engine alone on the precomputed signal
  matrix (``backtest(..., keep_equity=False)``, as engine.py's W2 runs it), timed in the same interleaved
  rounds. Checks: every set's final equity in the trials table equals the engine's column exactly, and the
  best set's total return equals that of the engine's best column (re-run alone, ``Result.stats``) exactly.
- R2 (W5): a rolling walk-forward, 10 folds x 1,590 sets, on the 100k bars: ``train=10_000`` bars and
  ``folds=10``, so each test window is the (100k - 10k) / 10 = 9,000 bars after its train window and the
  train windows roll by 9,000 (fold k trains on bars [9,000k, 9,000k + 10,000) and tests on the next
  9,000); the grid is R1's, the objective ``total_return``. Timed with ``jobs=1`` and ``jobs=2`` (loky
  processes). The peer is vectorbt's walk-forward example (its ``WalkForwardOptimization`` notebook): the
  close and open split with ``close.vbt.rolling_split(n=10, window_len=19_000, set_lens=(9_000,),
  left_to_right=False)`` (the same windows: its starts are ``linspace(0, 100k - 19k, 10)`` = 9,000k), moving
  averages of every set for all splits at once as columns (``vbt.MA.run`` with the fast and the slow
  windows paired, its ``ma_crossed_above`` / ``ma_crossed_below``), ``Portfolio.from_signals`` on a tz-naive
  index with the signals shifted a bar and ``price`` the open (the engine suite's configuration that gives
  backgrid's next-open fills), ``total_return()``, the best per split by ``groupby("split_idx").idxmax()``,
  then the best pairs run out of sample with ``per_column=True``. Agreement: on the sets vectorbt runs,
  each fold's in-sample final equity (vectorbt's ``final_value``) equals backgrid's trials table within
  1e-9, and the best of those sets per fold is the same. Out of sample they cannot agree and are not
  compared: the example recomputes the averages on the test window alone (its first ``slow`` bars cannot
  trade), while backgrid's test warms the indicators on the train window's bars, enters only inside the test
  window and closes at its last bar; the out-of-sample part is 10 columns, under 1 % of the work.
  vectorbt runs every 30th set (53 of 1,590) and its in-sample time is scaled by 1,590 / 53, as engine.py's
  W2 does (by default it allocates bars x columns order records: ~14 GB for all sets): said on its line.
- R3 (W6): 500 TPE trials (Optuna, constant liar, batches of 16) over fast 5..50, slow 20..200 step 5 and
  a stop-loss of 0.5..5 %, fast < slow, through ``optimize(method="tpe", trials=500)``; against
  backtesting.py's ``Backtest.optimize(method="sambo", max_tries=500, constraint=...)`` of the SMA cross
  with a stop-loss written as its documentation writes one (``self.I(SMA, ...)``, ``crossover``,
  ``self.buy(sl=...)``), on the same bars; its time is extrapolated from a sample of tries (said on the
  line). The two searches sample differently and backtesting.py sets the stop from the signal bar's close
  while backgrid's is a fraction of the fill price: only their times are compared.
- R4: 10,000 order shuffles of a 1,000-trade run's PnL (the first 1,000 trades of W1 on 100k bars) with
  ``backgrid.robustness.shuffle_trades``; skipped when that package is not importable.

``jobs=2`` in R2 splits each fold's grid between two loky processes, each with a one-thread engine; with
``jobs=1`` the engine already runs on Numba's threads (both cores here), so on a 2-core machine the processes
only share out the Python part (compiling the sets, their statistics). Absolute times (the R2-R4 goals) move
with the machine's load, which the table's header states; ratios come from interleaved calls (R1, R2).
"""

from __future__ import annotations

import os
import statistics
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from backgrid.engine import backtest
from backgrid.indicators.kernels.core_nb import sma_nb
from backgrid.strategy.spec import Strategy
from benchmarks.common import interleaved
from benchmarks.engine import CASH, COMMISSION, COSTS, crosses, minutes, seconds, times
from benchmarks.engine_peers import naive, shifted

FAST = range(5, 51)
SLOW = range(20, 201, 5)
STOP = (0.5, 5.0)  # R3's stop-loss range, percent
VBT_STEP = 30  # vectorbt runs every 30th set of R2 (53 of 1,590), as engine.py's W2
TRAIN, FOLDS = 10_000, 10
TRIALS = 500
# backtesting.py's R3 tries actually run (its time for TRIALS is extrapolated from them); sambo's default
# optimiser (SCE-UA) refuses fewer than 2 complexes of 2 x 3 dimensions + 1 points
BT_TRIES = 15
SHUFFLES, SHUFFLED_TRADES = 10_000, 1_000


@dataclass
class Row:
    """One line of the table."""

    workload: str
    ours: float
    peer_name: str
    peer: float | None
    ratio: str
    goal: str
    met: str
    note: str = ""


def pairs(fast: range = FAST, slow: range = SLOW) -> list[tuple[int, int]]:
    """The grid's (fast, slow) sets with fast < slow, fast outermost (the order of the search's grid)."""
    return [(f, s) for f in fast for s in slow if f < s]


def document(symbol: str, timeframe: str, fast: range = FAST, slow: range = SLOW, *, stop: bool = False,
             ) -> Strategy:
    """The SMA cross as a strategy document: parameters ``fast``/``slow`` (and ``stop``, percent)."""
    parameters: list[dict[str, Any]] = [
        {"param": "fast", "default": fast.start, "min": fast.start, "max": fast[-1], "step": fast.step},
        {"param": "slow", "default": slow[-1], "min": slow.start, "max": slow[-1], "step": slow.step}]
    exits: dict[str, Any] = {"long": {"crosses_below": ["fast_ma", "slow_ma"]}}
    if stop:
        parameters.append({"param": "stop", "default": 2.0, "min": STOP[0], "max": STOP[1]})
        exits["stop_loss"] = {"percent": "$stop"}
    return Strategy.model_validate({
        "schema_version": 3, "name": "sma-cross-research", "market": {"symbols": [symbol], "timeframe": timeframe},
        "parameters": parameters,
        "indicators": {"fast_ma": {"id": "sma", "params": {"period": "$fast"}},
                       "slow_ma": {"id": "sma", "params": {"period": "$slow"}}},
        "entries": {"long": {"crosses_above": ["fast_ma", "slow_ma"]}}, "exits": exits,
        "costs": {"commission_percent": COMMISSION * 100}, "cash": CASH})


def signals(close: np.ndarray, sets: Sequence[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Entry and exit signals of ``sets``, (n, sets) column-major (engine.py's ``sweep_signals``)."""
    ma = {p: sma_nb(close, p) for p in {p for pair in sets for p in pair}}
    up = np.empty((close.size, len(sets)), dtype=bool, order="F")
    down = np.empty_like(up)
    for j, (f, s) in enumerate(sets):
        a, b = ma[f], ma[s]
        up[:, j] = (a > b) & np.r_[False, (a <= b)[:-1]]
        down[:, j] = (a < b) & np.r_[False, (a >= b)[:-1]]
    return up, down


def check(ok: bool, what: str) -> None:  # noqa: FBT001  # a condition and what it means
    if not ok:
        raise AssertionError(what)


# --- R1 ---------------------------------------------------------------------------------------------------

def r1(rows: int = 100_000, repeat: int = 1, *, fast: range = FAST, slow: range = SLOW) -> Row:
    """W2 through ``optimize`` against the engine alone on the precomputed signals, interleaved."""
    from backgrid.optimize import optimize  # noqa: PLC0415

    bars = minutes(rows)
    sets = pairs(fast, slow)
    up, down = signals(bars.close, sets)
    doc = document(bars.symbol, str(bars.timeframe), fast, slow)

    def engine() -> Any:
        return backtest(bars, entries=up, exits=down, costs=COSTS, cash=CASH, keep_equity=False)

    def search() -> Any:
        return optimize(doc, bars, method="grid", objective="total_return", conditions=["fast < slow"],
                        metrics=["final_equity"], ledger=False)

    timed = interleaved({"engine": (engine, lambda r: r.summary[:, 0].copy()),
                         "optimize": (search, lambda r: (r.trials, r.best, r.best_value))}, repeat)
    t_engine, finals = timed["engine"]
    t_search, (trials, best, best_value) = timed["optimize"]
    check(len(trials) == len(sets), f"R1: optimize ran {len(trials)} sets, the grid has {len(sets)}")
    ours = trials.set_index(["fast", "slow"])["final_equity"].reindex(pd.MultiIndex.from_tuples(sets))
    bad = np.flatnonzero(ours.to_numpy() != finals)
    check(not bad.size, f"R1: final equity of set {sets[bad[0]] if bad.size else ''} differs from the engine's")
    j = int(np.argmax(finals))
    check((best["fast"], best["slow"]) == sets[j], f"R1: optimize's best {best} is not the engine's {sets[j]}")
    alone = backtest(bars, entries=up[:, j], exits=down[:, j], costs=COSTS, cash=CASH).stats["total_return"]
    check(best_value == alone, f"R1: best total return {best_value!r} != the engine's best column's {alone!r}")
    ratio = t_search / t_engine
    return Row(f"R1 grid W2 via optimize ({len(sets):,} sets x {rows // 1000}k bars)", t_search,
               "engine alone", t_engine, f"{ratio:.2f}x bg/engine", "<= 1.5x", _met(ratio <= 1.5),
               f"best {best['fast']}/{best['slow']}, total return {best_value:.6f} = engine's best column")


def _met(ok: bool) -> str:  # noqa: FBT001  # the goal's test
    return "yes" if ok else "NO"


# --- R2 ---------------------------------------------------------------------------------------------------

def r2(rows: int = 100_000, repeat: int = 1, *, fast: range = FAST, slow: range = SLOW, train: int = TRAIN,
       folds: int = FOLDS, step: int = VBT_STEP, jobs: Sequence[int] = (1, 2)) -> list[Row]:
    """The walk-forward with 1 and 2 processes (``jobs``), and vectorbt's example on every ``step``-th set."""
    from backgrid.optimize import walk_forward  # noqa: PLC0415

    bars = minutes(rows)
    sets = pairs(fast, slow)
    doc = document(bars.symbol, str(bars.timeframe), fast, slow)

    def ours(jobs: int) -> Any:
        return walk_forward(doc, bars, train=train, folds=folds, objective="total_return",
                            conditions=["fast < slow"], metrics=["final_equity"], ledger=False, jobs=jobs)

    def digest(result: Any) -> Any:
        return result.folds, [s.trials.set_index(["fast", "slow"])["final_equity"] for s in result.searches]

    sub = sets[::step]
    test = (rows - train) // folds
    peer = vectorbt_walk_forward(bars, sub, train, test, folds)
    calls = {f"jobs={j}": (lambda j=j: ours(j), digest) for j in jobs} | {"vectorbt": (peer, same)}
    timed = interleaved(calls, repeat)
    f1, finals1 = timed[f"jobs={jobs[0]}"][1]
    for j in jobs[1:]:
        check(f1[["fast", "slow"]].equals(timed[f"jobs={j}"][1][0][["fast", "slow"]]),
              f"R2: jobs={j} chose other sets than jobs={jobs[0]}")
    t_vbt_is, t_vbt_oos, vbt_finals, vbt_best = timed["vectorbt"][1]
    for k in range(folds):  # vectorbt's in-sample final equities on its sets, and its best of them, per fold
        mine = finals1[k].reindex(pd.MultiIndex.from_tuples(sub)).to_numpy()
        theirs = vbt_finals[k]
        bad = np.flatnonzero(~np.isclose(mine, theirs, rtol=1e-9, atol=0))
        check(not bad.size, f"R2 fold {k}: vectorbt's in-sample final equity of {sub[bad[0]] if bad.size else ''} "
                            f"is {theirs[bad[0]] if bad.size else ''}, backgrid's {mine[bad[0]] if bad.size else ''}")
        check(sub[int(np.argmax(mine))] == vbt_best[k], f"R2 fold {k}: best of the subset differs")
    t_peer = t_vbt_is * len(sets) / len(sub) + t_vbt_oos
    rows_out = []
    for n_jobs in jobs:
        t = timed[f"jobs={n_jobs}"][0]
        ratio = t_peer / t
        rows_out.append(Row(f"R2 walk-forward {folds} folds x {len(sets):,} sets, {rows // 1000}k bars, jobs={n_jobs}",
                            t, "vectorbt", t_peer, f"{times(ratio)} vbt/bg", "<= 3 s, >= 20x",
                            f"{_met(t <= 3)}, {_met(ratio >= 20)}",
                            f"vbt: in-sample {len(sets) / len(sub):.0f} x its time on {len(sub)} sets "
                            f"({seconds(t_vbt_is)}) + out of sample {seconds(t_vbt_oos)}" if n_jobs == jobs[0] else
                            f"{timed[f'jobs={jobs[0]}'][0] / t:.2f} x as fast as jobs={jobs[0]}"))
    return rows_out


def same(result: Any) -> Any:
    return result


def vectorbt_walk_forward(bars: Any, sets: Sequence[tuple[int, int]], train: int, test: int, folds: int) -> Any:
    """vectorbt's walk-forward example on ``sets``: returns a call giving (in-sample seconds, out-of-sample
    seconds, per-fold in-sample final values, per-fold best set)."""
    import vectorbt as vbt  # noqa: PLC0415  # benchmark-only peer

    frame = naive(bars.to_pandas())
    split = {"n": folds, "window_len": train + test, "set_lens": (test,), "left_to_right": False}
    fasts, slows = [f for f, _ in sets], [s for _, s in sets]
    settings = {"fees": COMMISSION, "init_cash": CASH, "freq": "1min", "engine": "numba"}

    def later(signal: pd.DataFrame) -> pd.DataFrame:
        return shifted(signal.to_numpy(), signal.index, signal.columns)

    def call() -> tuple[float, float, list[np.ndarray], list[tuple[int, int]]]:
        start = time.perf_counter()
        (in_close, _), (out_close, _) = frame["close"].vbt.rolling_split(**split)
        (in_open, _), (out_open, _) = frame["open"].vbt.rolling_split(**split)
        fast_ma = vbt.MA.run(in_close, window=fasts, short_name="fast")
        slow_ma = vbt.MA.run(in_close, window=slows, short_name="slow")
        entries, exits = fast_ma.ma_crossed_above(slow_ma), fast_ma.ma_crossed_below(slow_ma)
        pf = vbt.Portfolio.from_signals(in_close, later(entries), later(exits), price=_tiled(in_open, entries.columns),
                                        **settings)
        performance = pf.total_return()
        best = performance[performance.groupby("split_idx").idxmax()].index
        finals = pf.final_value()
        in_sample = time.perf_counter() - start
        start = time.perf_counter()
        best_fast = best.get_level_values("fast_window").to_numpy()
        best_slow = best.get_level_values("slow_window").to_numpy()
        fast_out = vbt.MA.run(out_close, window=best_fast, per_column=True, short_name="fast")
        slow_out = vbt.MA.run(out_close, window=best_slow, per_column=True, short_name="slow")
        out_entries, out_exits = fast_out.ma_crossed_above(slow_out), fast_out.ma_crossed_below(slow_out)
        out_pf = vbt.Portfolio.from_signals(out_close, later(out_entries), later(out_exits),
                                            price=_tiled(out_open, out_entries.columns, per_column=True), **settings)
        out_pf.total_return()
        out_of_sample = time.perf_counter() - start
        by_fold = finals.to_numpy().reshape(len(sets), folds)  # columns: set-major, split_idx innermost
        return in_sample, out_of_sample, list(by_fold.T), [(int(f), int(s)) for f, s in zip(best_fast, best_slow,
                                                                                            strict=True)]

    return call


def _tiled(price: pd.DataFrame, columns: pd.MultiIndex, *, per_column: bool = False) -> pd.DataFrame:
    """The open prices of each split repeated for each set's column (``columns``: its split_idx level)."""
    splits = columns.get_level_values("split_idx")
    values = price.to_numpy()[:, np.arange(len(columns))] if per_column else price.to_numpy()[:, splits]
    return pd.DataFrame(values, index=price.index, columns=columns)


# --- R3 ---------------------------------------------------------------------------------------------------

def r3(rows: int = 100_000, *, trials: int = TRIALS, tries: int = BT_TRIES, fast: range = FAST,
       slow: range = SLOW) -> Row:
    """TPE through ``optimize`` against backtesting.py's sambo optimiser, extrapolated from ``tries``."""
    from backgrid.optimize import optimize  # noqa: PLC0415

    bars = minutes(rows)
    doc = document(bars.symbol, str(bars.timeframe), fast, slow, stop=True)

    def search() -> Any:
        return optimize(doc, bars, method="tpe", trials=trials, objective="total_return",
                        conditions=["fast < slow"], metrics=[], ledger=False, seed=0)

    optimize(doc, bars.take(slice(0, min(rows, 2_000))), method="tpe", trials=2, objective="total_return",
             conditions=["fast < slow"], metrics=[], ledger=False)  # warm: compiled kernels, Optuna's imports
    start = time.perf_counter()
    result = search()
    t_ours = time.perf_counter() - start
    check(len(result.trials) == trials, f"R3: {len(result.trials)} trials, asked {trials}")
    t_peer, done = backtesting_sambo(bars, tries, fast, slow)
    per_try = t_peer / done
    t_all = per_try * trials
    best = result.best
    return Row(f"R3 TPE {trials} trials (fast, slow, stop %), {rows // 1000}k bars", t_ours,
               "backtesting.py sambo", t_all, f"{times(t_all / t_ours)} bt/bg", "<= 10 s", _met(t_ours <= 10),
               f"bt: {trials} x its time per try over {done} tries ({seconds(per_try)}); bg best "
               f"{best['fast']}/{best['slow']}/{best['stop']:.2f}%")


def backtesting_sambo(bars: Any, tries: int, fast: range, slow: range) -> tuple[float, int]:
    """Seconds of ``Backtest.optimize(method="sambo", max_tries=tries)`` and the tries it ran."""
    os.environ.setdefault("TQDM_DISABLE", "1")
    from backtesting import Backtest, Strategy  # noqa: PLC0415  # benchmark-only peer
    from backtesting.lib import crossover  # noqa: PLC0415
    from backtesting.test import SMA  # noqa: PLC0415

    class SmaCrossStop(Strategy):
        fast = 10
        slow = 50
        stop = 2.0

        def init(self) -> None:
            self.fast_ma = self.I(SMA, self.data.Close, self.fast)
            self.slow_ma = self.I(SMA, self.data.Close, self.slow)

        def next(self) -> None:
            if crossover(self.fast_ma, self.slow_ma) and not self.position:
                self.buy(sl=self.data.Close[-1] * (1 - self.stop / 100))
            elif crossover(self.slow_ma, self.fast_ma) and self.position:
                self.position.close()

    frame = bars.to_pandas().rename(columns=str.capitalize)
    bt = Backtest(frame, SmaCrossStop, cash=CASH, commission=COMMISSION)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        _, heatmap = bt.optimize(fast=fast, slow=slow, stop=list(np.arange(STOP[0], STOP[1] + 0.01, 0.5)),
                                 constraint=lambda p: p.fast < p.slow, maximize="Return [%]", method="sambo",
                                 max_tries=tries, random_state=0, return_heatmap=True)
        elapsed = time.perf_counter() - start
    return elapsed, max(1, int(heatmap.notna().sum()))


# --- R4 ---------------------------------------------------------------------------------------------------

def r4(rows: int = 100_000, *, trades: int = SHUFFLED_TRADES, shuffles: int = SHUFFLES, repeat: int = 5) -> Row:
    """``shuffle_trades`` of the first ``trades`` trades of W1 on ``rows`` bars."""
    title = f"R4 {shuffles:,} shuffles of {trades:,} trades"
    try:
        from backgrid.robustness import shuffle_trades  # type: ignore[import-not-found,unused-ignore]  # noqa: PLC0415
    except ImportError:
        return Row(title, float("nan"), "-", None, "-", "<= 0.2 s", "-", "skipped: backgrid.robustness not available")
    bars = minutes(rows)
    up, down = crosses(bars.close, 10, 50)
    pnl = backtest(bars, entries=up, exits=down, costs=COSTS, cash=CASH).records["pnl"][:trades].copy()
    check(pnl.size == trades, f"R4: the run has {pnl.size} trades, fewer than {trades}")
    shuffle_trades(pnl, CASH, n=shuffles, seed=0)  # warm
    spent = []
    for _ in range(repeat):
        start = time.perf_counter()
        shuffle_trades(pnl, CASH, n=shuffles, seed=0)
        spent.append(time.perf_counter() - start)
    t = statistics.median(spent)
    return Row(title, t, "-", None, "-", "<= 0.2 s", _met(t <= 0.2), f"median of {repeat}")


# --- table ------------------------------------------------------------------------------------------------

def render(rows: list[Row]) -> str:
    """The rows as an aligned table, their notes below it."""
    header = ("workload", "backgrid", "peer", "peer time", "ratio", "goal", "met")
    cells = [header] + [(r.workload, seconds(r.ours), r.peer_name, seconds(r.peer) if r.peer is not None else "-",
                         r.ratio, r.goal, r.met) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)).rstrip() for cell in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    lines += [f"{r.workload.split()[0]}: {r.note}" for r in rows if r.note]
    return "\n".join(lines)


def run(rows: int, repeat: int) -> None:
    """Run R1-R4 and print the table."""
    del rows
    os.environ.setdefault("TQDM_DISABLE", "1")
    import backtesting  # noqa: PLC0415
    import numba  # noqa: PLC0415
    import optuna  # noqa: PLC0415
    import vectorbt as vbt  # noqa: PLC0415

    load = os.getloadavg()[0]
    rounds = max(1, repeat // 5)  # --repeat's default 5 gives one timed round after the warm-up round
    table = [r1(repeat=rounds), *r2(repeat=rounds), r3(), r4()]
    print(f"research benchmark: R1, R2 medians of {rounds} interleaved round(s) after a warm-up round; R3 one "
          "search after a small warm-up one; R4 median of 5.")
    print(f"Load average at the start: {load:.1f}, at the end: {os.getloadavg()[0]:.1f}, on {os.cpu_count()} "
          f"CPUs; Numba threads: {numba.get_num_threads()}.")
    print(f"vectorbt {vbt.__version__} (engine='numba', tz-naive index); backtesting.py {backtesting.__version__}; "
          f"Optuna {optuna.__version__}")
    print()
    print(render(table))
