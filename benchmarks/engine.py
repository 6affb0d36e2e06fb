"""Engine benchmarks W1-W4 (issue #3): backgrid against a plain Numba loop, vectorbt (Numba and Rust
engines), backtesting.py and backtrader, in one run.

Every peer runs the same seeded data and signals, configured to backgrid's semantics (orders decided at
a close fill at the next open; commission 0.1 % of traded value; all-in sizing, costs included); the
benchmark checks that each agrees with backgrid on trade count and final equity (rtol 1e-9) before it
reports a time. The plain loops (:mod:`benchmarks.plain`) are the floor: the simplest code doing the work.
Peers are used as their documentation shows (see :mod:`benchmarks.engine_peers`).

Data: the synthetic DEMO-BTC one-minute market (W1-W3) and seeded random daily bars (W4).

- W1: SMA(10)/SMA(50) crossover, long only, on 10k, 100k and 1M one-minute bars.
- W2: the same for every fast in 5..50 and slow in 20..200 step 5 with fast < slow (1,590 sets), 100k bars.
- W3: W1 at 100k bars with stop-loss 2 % and take-profit 4 %, reversing long/short on each cross.
- W4: 100 symbols x 1,000 daily bars sharing one cash account.

W3 has no vectorbt row: vectorbt executes at most one order per bar and column ("We can execute only one
signal per asset and bar ... Stop signal cannot be processed at the same bar as the entry signal", its
``StopExitPrice`` docs), so after a stop exit it drops an entry signalled on the same bar, which backgrid
(and backtesting.py) fill; with stops it also pre-empts an order due at the open and skips the entry bar.
No setting aligns these, so W3 is compared with backtesting.py, whose semantics are backgrid's (see
tests/engine/test_differential.py). W4 has no backtesting.py row: it backtests one instrument per run,
with no account shared between runs.

Extrapolated times, stated on their lines: backtesting.py's W1 on 1M bars (10 x its time on the first
100k, which agree), vectorbt's and backtesting.py's W2 (from a subset of the sets, which agree; vectorbt
allocates bars x sets order records by default, about 14 GB for all 1,590 sets, more than a shared
24 GB machine should give one benchmark). Timings on a loaded machine are noisy: the fast calls of a
workload run interleaved, round after round, so a change of load falls on all of them alike.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np

from backgrid.data.bars import MultiBars
from backgrid.engine import backtest
from backgrid.indicators.kernels.core_nb import sma_nb
from backgrid.testing import random_bars
from benchmarks import plain
from benchmarks.common import interleaved, median_time
from benchmarks.engine_peers import (
    naive,
    run_backtesting_py,
    shifted,
    vectorbt_call,
    vectorbt_engines,
    vectorbt_outcome,
    whole_units,
)

COMMISSION = 0.001
# SMA(10/50) on one-minute bars trades ~14k round trips per million bars; 0.1 % commission shrinks equity
# ~1e12-fold over them. Starting with 1e12 keeps every engine above its dust thresholds, so all do the same work.
CASH = 1e12
COSTS = {"commission": COMMISSION}
PAIRS = [(f, s) for f in range(5, 51) for s in range(20, 201, 5) if f < s]
VBT_W2_STEP = 30  # vectorbt runs every 30th W2 set (53 of 1,590): see w2
ROUNDS = 3  # W1, W3, W4 take milliseconds a call: ROUNDS x repeat interleaved rounds steady their medians
BT_W1_SAMPLE = 100_000  # backtesting.py's W1 time beyond this many bars is extrapolated from this sample


@dataclass
class Block:
    """One workload's lines (engine, seconds, peer / backgrid, note) and its entries in the ratio summary."""

    title: str
    short: str
    lines: list[tuple[str, float, float | None, str]] = field(default_factory=list)
    ratios: dict[str, str] = field(default_factory=dict)

    def add(self, engine: str, seconds: float, ratio: float | None = None, note: str = "",
            key: str | None = None) -> None:
        self.lines.append((engine, seconds, ratio, note))
        if key is not None and ratio is not None:
            self.ratios[key] = times(ratio)


def minutes(rows: int) -> Any:
    """The first ``rows`` one-minute bars of the synthetic DEMO-BTC market (realistic volatility)."""
    from backgrid.data.sources.demo import demo_minutes  # noqa: PLC0415

    return demo_minutes("DEMO-BTC").take(slice(0, rows))


def crosses(close: np.ndarray, fast: int, slow: int) -> tuple[np.ndarray, np.ndarray]:
    """Bars where SMA(fast) crosses above / below SMA(slow)."""
    f, s = sma_nb(close, fast), sma_nb(close, slow)
    above, below = f > s, f < s
    return above & np.r_[False, (f <= s)[:-1]], below & np.r_[False, (f >= s)[:-1]]


def agree(name: str, ours: tuple[Any, Any], theirs: tuple[Any, Any]) -> None:
    """Fail loudly unless a peer did the same work: same trade counts, final equities within 1e-9."""
    counts, finals = np.atleast_1d(ours[0]), np.atleast_1d(ours[1])
    their_counts, their_finals = np.atleast_1d(theirs[0]), np.atleast_1d(theirs[1])
    bad = np.flatnonzero((counts != their_counts) | ~np.isclose(finals, their_finals, rtol=1e-9, atol=0))
    if counts.shape != their_counts.shape or bad.size:
        j = bad[0] if bad.size else 0
        msg = (f"{name}: disagrees with backgrid (column {j}): trades {their_counts[j]} vs {counts[j]}, "
               f"final equity {their_finals[j]} vs {finals[j]}")
        raise AssertionError(msg)


def outcome(result: Any, columns: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """backgrid's trade count (open trades included) and final equity per column."""
    return np.bincount(result.records["col"], minlength=columns), result.summary[:, 0].copy()


def times(ratio: float) -> str:
    return f"{ratio:.2f}x" if ratio < 10 else f"{ratio:.1f}x" if ratio < 100 else f"{ratio:,.0f}x"


def same(result: Any) -> Any:
    return result


def add_timed(block: Block, timed: dict[str, tuple[float, Any]], ours: str, engines: list[str],
              notes: dict[str, str] | None = None) -> None:
    """Check each of ``timed`` against backgrid's line ``ours`` and add its line: backgrid first, the plain
    loop (ratio: backgrid / plain), backgrid on more threads, then vectorbt's ``engines``; ``notes`` end
    the named lines."""
    notes = notes or {}
    t_ours, mine = timed[ours]
    for name, (seconds_, theirs) in timed.items():
        agree(f"{name} {block.short}", mine, theirs)
        if name == ours:
            block.add(name, seconds_, note=f"{mine[0].sum():,} trades" + notes.get(name, ""))
        elif name.startswith("plain"):
            block.add(name, seconds_, note=f"backgrid / plain = {t_ours / seconds_:.2f}")
            block.ratios["bg / plain"] = f"{t_ours / seconds_:.2f}"
        elif name.startswith("backgrid"):
            block.add(name, seconds_, note=f"{t_ours / seconds_:.2f} x as fast as 1 thread")
    for engine in engines:
        name = f"vectorbt {engine}"
        block.add(name, timed[name][0], timed[name][0] / t_ours, notes.get(name, ""), key=f"vbt {engine}")


def add_backtesting(block: Block, bars: Any, up: np.ndarray, down: np.ndarray, repeat: int) -> None:
    """backtesting.py on ``bars`` (on a sample, extrapolated, beyond ``BT_W1_SAMPLE`` bars), against backgrid
    in whole units."""
    rows = len(bars)
    t_ours, result = median_time(lambda: backtest(bars, entries=up, exits=down, costs=COSTS, cash=CASH,
                                                  **whole_units()), repeat)
    sample = min(rows, BT_W1_SAMPLE)
    part = bars.take(slice(0, sample)) if sample < rows else bars
    t_peer, count, final = run_backtesting_py(part.to_pandas(), up[:sample], down[:sample], cash=CASH,
                                              commission=COMMISSION, repeat=max(1, min(repeat, 3)))
    check = result if sample == rows else backtest(part, entries=up[:sample], exits=down[:sample], costs=COSTS,
                                                   cash=CASH, **whole_units())
    agree(f"backtesting.py {block.short}", outcome(check), (count, final))
    note = f"bg* {seconds(t_ours)}"
    if sample < rows:
        t_peer *= rows / sample
        note += f"; {rows // sample} x its {sample // 1000}k-bar time"
    block.add("backtesting.py", t_peer, t_peer / t_ours, note, key="backtesting.py")


def w1(rows: int, repeat: int, engines: list[str], *, peers: bool = True) -> Block:
    bars = minutes(rows)
    up, down = crosses(bars.close, 10, 50)

    def ours() -> Any:
        result = backtest(bars, entries=up, exits=down, costs=COSTS, cash=CASH)
        _ = result.equity  # pandas out
        return result

    frame = naive(bars.to_pandas())
    entries, exits = shifted(up, frame.index), shifted(down, frame.index)
    calls = {"backgrid": (ours, outcome),
             "plain Numba loop": (lambda: plain.all_in_nb(bars.open, bars.close, up, down, CASH, COMMISSION,
                                                          np.empty(rows)), same)}
    for engine in engines:
        calls[f"vectorbt {engine}"] = (vectorbt_call(engine, frame.close, entries, exits, price=frame.open,
                                                     fees=COMMISSION, init_cash=CASH, freq="1min"), vectorbt_outcome)
    label = f"{rows // 1000}k" if rows < 1_000_000 else f"{rows // 1_000_000}M"
    block = Block(f"W1 {rows:,} one-minute bars: SMA(10/50) cross, long only, all in", f"W1 {label}")
    add_timed(block, interleaved(calls, ROUNDS * repeat), "backgrid", engines)
    if peers:
        add_backtesting(block, bars, up, down, repeat)
    if peers and rows <= 10_000:
        add_backtrader(block, bars, up, down, repeat)
    return block


def add_backtrader(block: Block, bars: Any, up: np.ndarray, down: np.ndarray, repeat: int) -> None:
    """backtrader sizes in units here (the differential tests' adapter): compare with backgrid in units."""
    from tests.engine.peers import Case, run_backtrader  # noqa: PLC0415  # the differential tests' adapter

    t_ours, result = median_time(lambda: backtest(bars, entries=up, exits=down, size=1.0, size_type="units",
                                                  costs=COSTS, cash=CASH), repeat)
    quiet = np.zeros(len(bars), dtype=bool)
    case = Case("W1", bars.to_pandas(), up, down, quiet, quiet, commission=COMMISSION, size=1.0,
                size_type="units", cash=CASH)
    start = time.perf_counter()
    peer = run_backtrader(case)
    elapsed = time.perf_counter() - start
    open_at_end = int(result.records["open"].sum())  # the adapter lists closed trades only
    agree("backtrader W1", outcome(result), (len(peer.trades) + open_at_end, peer.final_equity))
    block.add("backtrader (1 run)", elapsed, elapsed / t_ours, f"bg* {seconds(t_ours)} (units)")


def sweep_signals(close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """W2's (n, 1,590) entry and exit signals, column-major (each set's signals contiguous, for every engine)."""
    fast = {f: sma_nb(close, f) for f in range(5, 51)}
    slow = {s: sma_nb(close, s) for s in range(20, 201, 5)}
    up = np.empty((close.size, len(PAIRS)), dtype=bool, order="F")
    down = np.empty_like(up)
    for j, (f, s) in enumerate(PAIRS):
        a, b = fast[f], slow[s]
        up[:, j] = (a > b) & np.r_[False, (a <= b)[:-1]]
        down[:, j] = (a < b) & np.r_[False, (a >= b)[:-1]]
    return up, down


def w2(rows: int, repeat: int, engines: list[str], *, peers: bool = True) -> Block:
    """The sweep: backgrid on 1 thread and on all, the plain loop on 1; vectorbt and backtesting.py on a
    subset of the sets, extrapolated (vectorbt allocates n x sets order records by default: 14 GB for all)."""
    bars = minutes(rows)
    up, down = sweep_signals(bars.close)
    m = len(PAIRS)

    def ours(**sizing: Any) -> Any:
        return backtest(bars, entries=up, exits=down, costs=COSTS, cash=CASH, keep_equity=False, **sizing)

    few = max(1, repeat // 2)
    threads = numba.get_num_threads()

    def one_thread(**sizing: Any) -> Any:
        numba.set_num_threads(1)
        try:
            return ours(**sizing)
        finally:
            numba.set_num_threads(threads)

    trades, finals = np.empty(m, dtype=np.int64), np.empty(m)

    def loop() -> tuple[np.ndarray, np.ndarray]:
        plain.all_in_columns_nb(bars.open, bars.close, up, down, CASH, COMMISSION, trades, finals)
        return trades.copy(), finals.copy()

    frame = naive(bars.to_pandas())
    subset = slice(None, None, VBT_W2_STEP)
    k = len(PAIRS[subset])
    entries, exits = shifted(up[:, subset], frame.index), shifted(down[:, subset], frame.index)
    calls = {"backgrid, 1 thread": (one_thread, lambda r: outcome(r, m)), "plain loop, 1 thread": (loop, same)}
    if threads > 1:
        calls[f"backgrid, {threads} threads"] = (ours, lambda r: outcome(r, m))
    for engine in engines:
        calls[f"vectorbt {engine}"] = (vectorbt_call(engine, frame.close, entries, exits, price=frame.open,
                                                     fees=COMMISSION, init_cash=CASH, freq="1min"), vectorbt_outcome)
    timed = interleaved(calls, few)
    mine = timed["backgrid, 1 thread"][1]
    for engine in engines:  # vectorbt ran every VBT_W2_STEP-th set: check those, extrapolate to all
        t_peer, theirs = timed[f"vectorbt {engine}"]
        agree(f"vectorbt {engine} W2", (mine[0][subset], mine[1][subset]), theirs)
        timed[f"vectorbt {engine}"] = (t_peer * m / k, mine)
    block = Block(f"W2 {m:,} SMA sets x {rows:,} bars, W1's rules; ratios vs backgrid on 1 thread", "W2")
    notes = {f"vectorbt {engine}": f"{m / k:.0f} x time on {k} sets" for engine in engines}
    if not peers:
        add_timed(block, timed, "backgrid, 1 thread", engines, notes)
        return block
    # peak memory in one fresh process each: vectorbt's with Rust when installed (Numba compiles for 20 s)
    notes[f"vectorbt {engines[-1]}"] += f"; peak {vectorbt_w2_peak_memory(engines[-1]):.2f} GB"
    notes["backgrid, 1 thread"] = f"; peak {w2_peak_memory():.2f} GB"
    add_timed(block, timed, "backgrid, 1 thread", engines, notes)
    t_units, units_result = median_time(lambda: one_thread(**whole_units()), few, warm=False)
    picks = [0, m // 2, m - 1]
    spent = 0.0
    units_outcome = outcome(units_result, m)
    frame = bars.to_pandas()
    for j in picks:
        t_set, count, final = run_backtesting_py(frame, up[:, j], down[:, j], cash=CASH, commission=COMMISSION,
                                                 repeat=1)
        agree(f"backtesting.py W2 set {j}", (units_outcome[0][j], units_outcome[1][j]), (count, final))
        spent += t_set
    t_peer = spent * m / len(picks)
    block.add("backtesting.py", t_peer, t_peer / t_units,
              f"bg* {seconds(t_units)}; {m / len(picks):.0f} x time on {len(picks)} sets", key="backtesting.py")
    return block


def peak_memory(code: str) -> float:
    """Peak resident memory (GB) of a new process that runs ``code`` after building W2's data.

    Read from the process's own VmHWM: ``getrusage``'s ru_maxrss would also count the parent's memory (Linux
    keeps the pre-exec high-water mark of the process that spawned it: this benchmark's, gigabytes here).
    """
    code = ("from benchmarks.engine import minutes, sweep_signals; bars = minutes(100_000);"
            "up, down = sweep_signals(bars.close);" + code + ";"
            "print([line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM:')][0])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout  # noqa: S603
    return float(out) / 1024**2  # kB


def w2_peak_memory() -> float:
    """Peak memory (GB) of a new process that builds W2's signals and runs it in backgrid."""
    return peak_memory("from backgrid.engine import backtest;"
                       "backtest(bars, entries=up, exits=down, costs={'commission': 0.001}, cash=1e12,"
                       " keep_equity=False)")


def vectorbt_w2_peak_memory(engine: str) -> float:
    """Peak memory (GB) of a new process that builds W2's signals and runs vectorbt on its subset of them."""
    return peak_memory("from benchmarks.engine import VBT_W2_STEP;"
                       "from benchmarks.engine_peers import naive, shifted, vectorbt_call;"
                       "frame = naive(bars.to_pandas()); cut = slice(None, None, VBT_W2_STEP);"
                       f"vectorbt_call({engine!r}, frame.close, shifted(up[:, cut], frame.index),"
                       " shifted(down[:, cut], frame.index), price=frame.open, fees=0.001, init_cash=1e12,"
                       " freq='1min')()")


def w3(rows: int, repeat: int, *, peers: bool = True) -> Block:
    """Reversals with 2 % stop-loss and 4 % take-profit, one unit per trade (backtesting.py's whole units)."""
    from tests.engine.peers import Case  # noqa: PLC0415  # the differential tests' adapter
    from tests.engine.peers import run_backtesting_py as run_stops  # noqa: PLC0415

    bars = minutes(rows)
    up, down = crosses(bars.close, 10, 50)
    settings = {"stop_loss": 0.02, "take_profit": 0.04, "size": 1.0, "size_type": "units"}

    def ours() -> Any:
        result = backtest(bars, entries=up, short_entries=down, costs=COSTS, cash=CASH, **settings)
        _ = result.equity
        return result

    def loop() -> tuple[int, float]:
        return plain.reversal_stops_nb(bars.open, bars.high, bars.low, bars.close, up, down, 1.0, CASH, COMMISSION,
                                       0.02, 0.04)

    timed = interleaved({"backgrid": (ours, outcome), "plain Numba loop": (loop, same)}, ROUNDS * repeat)
    t_ours, mine = timed["backgrid"]
    block = Block(f"W3 {rows:,} bars: W1 long/short reversals, stop-loss 2 %, take-profit 4 %, 1 unit", "W3")
    add_timed(block, timed, "backgrid", [])
    if not peers:
        return block
    quiet = np.zeros(rows, dtype=bool)
    case = Case("W3", bars.to_pandas(), up, quiet, down, quiet, stop_loss=0.02, take_profit=0.04,
                commission=COMMISSION, size=1.0, size_type="units", cash=CASH)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_peer, peer = median_time(lambda: run_stops(case), max(1, min(repeat, 3)), warm=False)
    open_at_end = int(ours().records["open"].sum())  # the adapter lists closed trades only
    agree("backtesting.py W3", mine, (len(peer.trades) + open_at_end, peer.final_equity))
    block.add("vectorbt", float("nan"), note="n/a: 1 order per bar (see docstring)")
    block.add("backtesting.py", t_peer, t_peer / t_ours, key="backtesting.py")
    return block


def w4(symbols: int, rows: int, repeat: int, engines: list[str]) -> Block:
    """100 symbols from one account, one unit each (vectorbt with cash sharing, sells before buys)."""
    multi = MultiBars([random_bars(rows, timeframe="1d", seed=100 + k, symbol=f"S{k:03d}") for k in range(symbols)])
    close, open_ = naive(multi.to_pandas("close")), naive(multi.to_pandas("open"))
    pairs = [crosses(close[sym].to_numpy(), 10, 50) for sym in close]
    up, down = np.column_stack([p[0] for p in pairs]), np.column_stack([p[1] for p in pairs])

    def ours() -> Any:
        result = backtest(multi, entries=up, exits=down, size=1.0, size_type="units", costs=COSTS, cash=CASH)
        _ = result.equity
        return result

    o, c = np.ascontiguousarray(open_.to_numpy()), np.ascontiguousarray(close.to_numpy())
    calls = {"backgrid": (ours, outcome),
             "plain Numba loop": (lambda: plain.shared_cash_nb(o, c, up, down, 1.0, CASH, COMMISSION, np.empty(rows)),
                                  same)}
    entries, exits = shifted(up, close.index, close.columns), shifted(down, close.index, close.columns)
    for engine in engines:  # one group: its trades are counted per symbol
        calls[f"vectorbt {engine}"] = (vectorbt_call(engine, close, entries, exits, price=open_, size=1.0,
                                                     fees=COMMISSION, init_cash=CASH, cash_sharing=True,
                                                     group_by=True, call_seq="auto", freq="1D"),
                                       lambda r: (vectorbt_outcome(r)[0].sum(), vectorbt_outcome(r)[1]))
    block = Block(f"W4 {symbols} symbols x {rows:,} daily bars: W1 long only, 1 unit each, one cash account",
                  "W4")
    add_timed(block, interleaved(calls, ROUNDS * repeat), "backgrid", engines)
    block.add("backtesting.py", float("nan"), note="n/a: one instrument, no shared cash")
    return block


def cold_start() -> float:
    """Seconds for a new process to start, import backgrid, load its cached kernels and run W1 on 1M bars.

    The wall time of the whole process, less the time it spends building the benchmark data.
    """
    code = ("import time, json; from benchmarks.engine import crosses, minutes; t = time.perf_counter();"
            "bars = minutes(1_000_000); up, down = crosses(bars.close, 10, 50); data = time.perf_counter() - t;"
            "from backgrid.engine import backtest;"
            "r = backtest(bars, entries=up, exits=down, costs={'commission': 0.001}, cash=1e12); _ = r.equity;"
            "print(json.dumps(data))")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout  # noqa: S603
    return time.perf_counter() - start - float(json.loads(out))


def seconds(value: float) -> str:
    if np.isnan(value):
        return "-"
    if value < 1e-3:
        return f"{value * 1e6:.0f} us"
    return f"{value * 1e3:.1f} ms" if value < 1 else f"{value:.2f} s" if value < 100 else f"{value:,.0f} s"


def render(blocks: list[Block]) -> str:
    """Each workload's lines, then the ratios in one table; at most 80 columns wide."""
    out = []
    for block in blocks:
        out.append(block.title)
        for engine, value, ratio, note in block.lines:
            line = f"  {engine:<20}{seconds(value):>10}  {times(ratio) if ratio is not None else '':>7}  {note}"
            out.append(line.rstrip())
        out.append("")
    keys = ["vbt numba", "vbt rust", "backtesting.py", "bg / plain"]
    out.append("ratios: peer time / backgrid time (how many times faster backgrid is);")
    out.append("bg / plain: backgrid time / plain loop time (the cost of its generality)")
    out.append(f"  {'workload':<10}" + "".join(f"{k:>16}" for k in keys))
    out += [f"  {b.short:<10}" + "".join(f"{b.ratios.get(k, '-'):>16}" for k in keys) for b in blocks]
    return "\n".join(out)


def run(rows: int, repeat: int, *, peers: bool = True) -> None:
    """Run W1-W4 and print the table; without ``peers``, backgrid and the plain loops only (a quick check of
    backgrid / plain)."""
    del rows
    os.environ.setdefault("TQDM_DISABLE", "1")  # backtesting.py's progress bar (read when tqdm is imported)
    engines, versions = vectorbt_engines() if peers else ([], "peers not run (--peers none)")
    blocks = [w1(n, repeat, engines, peers=peers) for n in (10_000, 100_000, 1_000_000)]
    blocks += [w2(100_000, repeat, engines, peers=peers), w3(100_000, repeat, peers=peers),
               w4(100, 1_000, repeat, engines)]
    print(f"engine benchmark: warm kernels; medians of {ROUNDS * repeat} interleaved rounds "
          f"(W2: {max(1, repeat // 2)}),")
    print(f"backtesting.py {min(repeat, 3)} runs. Every peer and plain loop agrees with backgrid on")
    print("trades and final equity (on the sampled sets where a time is extrapolated).")
    print("ratio = peer time / backgrid time; bg* = backgrid sized as that peer sizes.")
    print(f"Load average at the start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; Numba threads: "
          f"{numba.get_num_threads()}.")
    print(versions)
    if peers:
        import backtesting  # noqa: PLC0415

        print(f"vectorbt: tz-naive index, engine= given explicitly; backtesting.py {backtesting.__version__}")
    print()
    print(render(blocks))
    print()
    print("cold process (start, import, cached kernels, W1 on 1M bars; no data build):")
    print(f"  {cold_start():.2f} s (target < 1.5 s). Load average at the end: {os.getloadavg()[0]:.1f}")
