"""Engine benchmarks W1-W4 (issue #3): backgrid against vectorbt, backtesting.py and backtrader.

Every peer runs the same seeded data and signals, configured to backgrid's semantics (orders decided at
a close fill at the next open; commission 0.1 % of traded value; all-in sizing); the benchmark checks that
each agrees with backgrid on trade count and final equity before it reports a time.

Data: the synthetic DEMO-BTC one-minute market (W1-W3) and seeded random daily bars (W4).

- W1: SMA(10)/SMA(50) crossover, long only, on 10k, 100k and 1M one-minute bars.
- W2: the same for every fast in 5..50 and slow in 20..200 step 5 with fast < slow (1,590 sets), 100k bars.
- W3: W1 at 100k bars with stop-loss 2 % and take-profit 4 %, reversing long/short on each cross.
- W4: 100 symbols x 1,000 daily bars sharing one cash account.

W3 has no vectorbt row: vectorbt executes at most one order per bar and column, so after a stop exit it
drops an entry signalled on the same bar, which backgrid (and backtesting.py) fill; with stops it also
pre-empts an order due at the open and skips the entry bar. No setting aligns these, so W3 is compared
with backtesting.py, whose semantics are backgrid's (see tests/engine/test_differential.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from backgrid.data.bars import MultiBars
from backgrid.engine import backtest
from backgrid.indicators.kernels.core_nb import sma_nb
from backgrid.testing import random_bars
from benchmarks.common import median_time, table

COMMISSION = 0.001
# SMA(10/50) on one-minute bars trades ~14k round trips per million bars; 0.1 % commission shrinks equity
# ~1e12-fold over them. Starting with 1e12 keeps every engine above its dust thresholds, so all do the same work.
CASH = 1e12


def minutes(rows: int) -> Any:
    """The first ``rows`` one-minute bars of the synthetic DEMO-BTC market (realistic volatility)."""
    from backgrid.data.sources.demo import demo_minutes  # noqa: PLC0415

    return demo_minutes("DEMO-BTC").take(slice(0, rows))


def crosses(close: np.ndarray, fast: int, slow: int) -> tuple[np.ndarray, np.ndarray]:
    """Bars where SMA(fast) crosses above / below SMA(slow)."""
    f, s = sma_nb(close, fast), sma_nb(close, slow)
    above, below = f > s, f < s
    return above & np.r_[False, (f <= s)[:-1]], below & np.r_[False, (f >= s)[:-1]]


def agree(name: str, ours: tuple[int, float], theirs: tuple[int, float]) -> None:
    """Fail loudly unless a peer did the same work: same trade count, final equity within 1e-9."""
    if ours[0] != theirs[0] or not np.isclose(ours[1], theirs[1], rtol=1e-9, atol=0):
        msg = f"{name}: peer disagrees with backgrid: trades {theirs[0]} vs {ours[0]}, equity {theirs[1]} vs {ours[1]}"
        raise AssertionError(msg)


def _vbt_signals(index: pd.Index, signal: np.ndarray) -> pd.Series | pd.DataFrame:
    """vectorbt fills on the signal bar at ``price``: shift by one bar and use the open (next-open fills)."""
    shifted = np.zeros_like(signal)
    shifted[1:] = signal[:-1]
    return pd.Series(shifted, index=index) if shifted.ndim == 1 else pd.DataFrame(shifted, index=index)


def w1(rows: int, repeat: int, *, peers: bool) -> list[tuple[str, str, str, str]]:
    bars = minutes(rows)
    up, down = crosses(bars.close, 10, 50)

    def ours() -> Any:
        result = backtest(bars, entries=up, exits=down, costs={"commission": COMMISSION}, cash=CASH)
        _ = result.equity  # pandas out
        return result

    t_ours, result = median_time(ours, repeat)
    mine = (int(result.records.size), float(result.summary[0, 0]))
    rows_out = [(f"W1 {rows:,} bars", f"{t_ours * 1e3:.1f} ms", "", "")]
    frame = bars.to_pandas()
    entries, exits = _vbt_signals(frame.index, up), _vbt_signals(frame.index, down)
    rows_out += _vectorbt_row(lambda vbt: vbt.Portfolio.from_signals(
        frame.close, entries, exits, price=frame.open, fees=COMMISSION, init_cash=CASH, freq="1min"),
        mine, t_ours, repeat, f"W1 {rows:,}")
    if peers and rows <= 100_000:
        rows_out.append(_backtesting_row(bars, up, down, repeat))
    if peers and rows <= 10_000:
        rows_out.append(_backtrader_row(bars, up, down, repeat))
    return rows_out


def _backtrader_row(bars: Any, up: np.ndarray, down: np.ndarray, repeat: int) -> tuple[str, str, str, str]:
    """backtrader sizes in units here (the differential tests' adapter): compare with backgrid in units."""
    from tests.engine.peers import Case, run_backtrader  # noqa: PLC0415  # the differential tests' adapter

    t_ours, result = median_time(lambda: backtest(bars, entries=up, exits=down, size=1.0, size_type="units",
                                                  costs={"commission": COMMISSION}, cash=CASH), repeat)
    quiet = np.zeros(len(bars), dtype=bool)
    case = Case("W1", bars.to_pandas(), up, down, quiet, quiet, commission=COMMISSION, size=1.0,
                size_type="units", cash=CASH)
    start = time.perf_counter()
    peer = run_backtrader(case)
    elapsed = time.perf_counter() - start
    open_at_end = int(result.records["open"].sum())  # the adapter lists closed trades only
    agree("backtrader W1", (int(result.records.size), float(result.summary[0, 0])),
          (len(peer.trades) + open_at_end, peer.final_equity))
    return ("", "", f"backtrader {elapsed:.1f} s (vs backgrid in units: {t_ours * 1e3:.1f} ms)",
            f"{elapsed / t_ours:.0f}x")


def _vectorbt_row(run: Any, mine: tuple[int, float], t_ours: float, repeat: int, label: str,
                  ) -> list[tuple[str, str, str, str]]:
    import vectorbt as vbt  # noqa: PLC0415  # benchmark-only peer

    def peer() -> Any:
        pf = run(vbt)
        _ = pf.value()
        return pf

    t_peer, pf = median_time(peer, max(1, repeat // 2))
    count = int(np.asarray(pf.trades.count()).sum())
    final = float(np.asarray(pf.value().iloc[-1]).sum())
    agree(f"vectorbt {label}", mine, (count, final))
    return [("", "", f"vectorbt {t_peer * 1e3:.0f} ms", f"{t_peer / t_ours:.0f}x")]


def _backtesting_row(bars: Any, up: np.ndarray, down: np.ndarray, repeat: int) -> tuple[str, str, str, str]:
    """backtesting.py buys whole units with (1 - eps) of equity: compare it with backgrid run the same way."""
    from backtesting import Backtest, Strategy  # noqa: PLC0415

    ups, downs = set(np.flatnonzero(up).tolist()), set(np.flatnonzero(down).tolist())

    class Cross(Strategy):
        def init(self) -> None:
            pass

        def next(self) -> None:
            i = len(self.data) - 1
            if i in ups and not self.position:
                self.buy()
            elif i in downs and self.position:
                self.position.close()

    t_ours, result = median_time(lambda: backtest(bars, entries=up, exits=down, size=1 - sys.float_info.epsilon,
                                                  lot_size=1, costs={"commission": COMMISSION}, cash=CASH),
                                 repeat)
    data = bars.to_pandas().rename(columns=str.capitalize)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the peer warns about the trade left open at the end
        start = time.perf_counter()
        stats = Backtest(data, Cross, cash=CASH, commission=COMMISSION).run()
        elapsed = time.perf_counter() - start
    count = len(stats._trades) + (1 if stats._strategy.position else 0)  # noqa: SLF001
    agree("backtesting.py W1", (int(result.records.size), float(result.summary[0, 0])),
          (count, float(stats["Equity Final [$]"])))
    return ("", "", f"backtesting.py {elapsed:.1f} s (vs backgrid in whole units: {t_ours * 1e3:.1f} ms)",
            f"{elapsed / t_ours:.0f}x")


def w2(rows: int, repeat: int, vbt_sets: int) -> list[tuple[str, str, str, str]]:
    bars = minutes(rows)
    pairs = [(f, s) for f in range(5, 51) for s in range(20, 201, 5) if f < s]
    fast_sma = {f: sma_nb(bars.close, f) for f in range(5, 51)}
    slow_sma = {s: sma_nb(bars.close, s) for s in range(20, 201, 5)}
    up = np.empty((rows, len(pairs)), dtype=bool)
    down = np.empty((rows, len(pairs)), dtype=bool)
    for j, (f, s) in enumerate(pairs):
        a, b = fast_sma[f], slow_sma[s]
        up[:, j] = (a > b) & np.r_[False, (a <= b)[:-1]]
        down[:, j] = (a < b) & np.r_[False, (a >= b)[:-1]]

    def ours() -> Any:
        return backtest(bars, entries=up, exits=down, costs={"commission": COMMISSION}, cash=CASH,
                        keep_equity=False)

    t_ours, result = median_time(ours, max(1, repeat // 2))
    rows_out = [(f"W2 {len(pairs):,} sets x {rows:,} bars", f"{t_ours:.2f} s", "", "")]
    subset = slice(0, vbt_sets)
    sub = backtest(bars, entries=up[:, subset], exits=down[:, subset], costs={"commission": COMMISSION},
                   cash=CASH, keep_equity=False)
    frame = bars.to_pandas()
    import vectorbt as vbt  # noqa: PLC0415

    start = time.perf_counter()
    pf = vbt.Portfolio.from_signals(frame.close, _vbt_signals(frame.index, up[:, subset]),
                                    _vbt_signals(frame.index, down[:, subset]), price=frame.open, fees=COMMISSION,
                                    init_cash=CASH, freq="1min")
    finals = pf.value().iloc[-1].to_numpy()
    t_sub = time.perf_counter() - start
    counts = np.asarray(pf.trades.count())
    for j in range(vbt_sets):
        agree(f"vectorbt W2 set {j}", (int((sub.records["col"] == j).sum()), float(sub.summary[j, 0])),
              (int(counts[j]), float(finals[j])))
    t_peer = t_sub * len(pairs) / vbt_sets
    rows_out[0] = (rows_out[0][0], f"{t_ours:.2f} s, peak {w2_peak_memory(rows):.2f} GB", "", "")
    rows_out.append(("", "", f"vectorbt {t_peer:.0f} s (extrapolated from {vbt_sets} sets, which agree)",
                     f"{t_peer / t_ours:.0f}x"))
    del result
    return rows_out


def w2_peak_memory(rows: int) -> float:
    """Peak resident memory (GB) of a new process that builds W2's signals and runs it (backgrid only)."""
    code = ("import resource, json, numpy as np; from benchmarks.engine import minutes, crosses;"
            "from backgrid.engine import backtest; from backgrid.indicators.kernels.core_nb import sma_nb;"
            f"bars = minutes({rows});"
            "pairs = [(f, s) for f in range(5, 51) for s in range(20, 201, 5) if f < s];"
            "up = np.empty((len(bars), len(pairs)), bool, order='F'); down = np.empty_like(up);"
            "[(up.__setitem__((slice(None), j), crosses(bars.close, f, s)[0]),"
            " down.__setitem__((slice(None), j), crosses(bars.close, f, s)[1])) for j, (f, s) in enumerate(pairs)];"
            "backtest(bars, entries=up, exits=down, costs={'commission': 0.001}, cash=1e12, keep_equity=False);"
            "print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout  # noqa: S603
    return float(json.loads(out)) / 1024**2  # ru_maxrss is in KiB on Linux


def w3(rows: int, repeat: int) -> list[tuple[str, str, str, str]]:
    """Reversals with 2 % stop-loss and 4 % take-profit, one unit per trade (backtesting.py's whole units)."""
    from tests.engine.peers import Case, run_backtesting_py  # noqa: PLC0415  # the differential tests' adapter

    bars = minutes(rows)
    up, down = crosses(bars.close, 10, 50)
    settings = {"stop_loss": 0.02, "take_profit": 0.04, "size": 1.0, "size_type": "units"}

    def ours() -> Any:
        result = backtest(bars, entries=up, short_entries=down, costs={"commission": COMMISSION}, cash=CASH,
                          **settings)
        _ = result.equity
        return result

    t_ours, result = median_time(ours, repeat)
    rows_out = [(f"W3 {rows:,} bars, SL 2 % / TP 4 %, long/short", f"{t_ours * 1e3:.1f} ms", "", "")]
    quiet = np.zeros(rows, dtype=bool)
    case = Case("W3", bars.to_pandas(), up, quiet, down, quiet, stop_loss=0.02, take_profit=0.04,
                commission=COMMISSION, size=1.0, size_type="units", cash=CASH)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        peer = run_backtesting_py(case)
        elapsed = time.perf_counter() - start
    open_at_end = int(result.records["open"].sum())
    agree("backtesting.py W3", (int(result.records.size), float(result.summary[0, 0])),
          (len(peer.trades) + open_at_end, peer.final_equity))
    rows_out.append(("", "", f"backtesting.py {elapsed:.1f} s", f"{elapsed / t_ours:.0f}x"))
    return rows_out


def w4(symbols: int, rows: int, repeat: int) -> list[tuple[str, str, str, str]]:
    """100 symbols from one account, one unit each (vectorbt with cash sharing, sells before buys)."""
    multi = MultiBars([random_bars(rows, timeframe="1d", seed=100 + k, symbol=f"S{k:03d}") for k in range(symbols)])
    close, open_ = multi.to_pandas("close"), multi.to_pandas("open")
    pairs = {sym: crosses(close[sym].to_numpy(), 10, 50) for sym in close}
    up = pd.DataFrame({sym: pair[0] for sym, pair in pairs.items()}, index=close.index)
    down = pd.DataFrame({sym: pair[1] for sym, pair in pairs.items()}, index=close.index)

    def ours() -> Any:
        result = backtest(multi, entries=up, exits=down, size=1.0, size_type="units",
                          costs={"commission": COMMISSION}, cash=CASH)
        _ = result.equity
        return result

    t_ours, result = median_time(ours, repeat)
    mine = (int(result.records.size), float(result.summary[0, 0]))
    rows_out = [(f"W4 {symbols} symbols x {rows:,} daily bars, shared cash", f"{t_ours * 1e3:.1f} ms", "", "")]
    rows_out += _vectorbt_row(lambda vbt: vbt.Portfolio.from_signals(
        close, _vbt_signals(close.index, up.to_numpy()).set_axis(close.columns, axis=1),
        _vbt_signals(close.index, down.to_numpy()).set_axis(close.columns, axis=1), price=open_, size=1.0,
        fees=COMMISSION, init_cash=CASH, cash_sharing=True, group_by=True, call_seq="auto", freq="1D"),
        mine, t_ours, repeat, "W4")
    return rows_out


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


def run(rows: int, repeat: int) -> None:
    """Run W1-W4 and print the table."""
    del rows
    table_rows: list[tuple[str, str, str, str]] = []
    for n in (10_000, 100_000, 1_000_000):
        table_rows += w1(n, repeat, peers=True)
    table_rows += w2(100_000, repeat, vbt_sets=53)
    table_rows += w3(100_000, repeat)
    table_rows += w4(100, 1_000, repeat)
    print("engine, warm kernels, median of repeats (peer / backgrid = how many times faster backgrid is)")
    print(table(table_rows))
    print(f"cold process (start + import + cached kernels + W1 on 1M bars, data building excluded): "
          f"{cold_start():.2f} s (target < 1.5 s)")
