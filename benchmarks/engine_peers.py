"""The engine benchmark's peers, each run as its documentation shows a user to run it.

- vectorbt: ``vbt.Portfolio.from_signals`` on pandas objects with a tz-naive DatetimeIndex (as in its
  examples), then ``pf.value()``; once with ``engine="numba"`` and once with ``engine="rust"`` (the
  ``vectorbt-rust`` package, ``pip install "vectorbt[rust]"``). Both are passed explicitly: vectorbt's
  default ``engine="auto"`` picks Rust when vectorbt-rust is installed and Numba otherwise, and an explicit
  ``engine="rust"`` raises rather than falls back when Rust cannot run the call, so the engine named is the
  engine timed. vectorbt fills on the signal's bar at ``price``: the signals are shifted one bar and
  ``price`` is the open, which gives backgrid's next-open fills.
- backtesting.py: a ``Strategy`` that buys on the entry bars and closes on the exit bars.
- backtrader: the differential tests' adapter (tests/engine/peers.py).

Every function returns the median seconds and what the agreement check needs: trade counts and final
equities, one per column.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.common import median_time


def naive(frame: pd.DataFrame | pd.Series) -> Any:
    """``frame`` on a tz-naive index, the same instants in UTC (vectorbt's documented input).

    On pandas 3 a tz-aware index makes vectorbt build one Timestamp per bar when it wraps results
    (``pf.value()`` alone: 21 s on 1M bars against 0.28 s naive), which would time pandas, not vectorbt.
    """
    return frame.set_axis(frame.index.tz_convert("UTC").tz_localize(None))


def shifted(signal: np.ndarray, index: pd.Index, columns: Any = None) -> pd.Series | pd.DataFrame:
    """``signal`` one bar later: vectorbt fills on the signal's bar, backgrid at the next bar's open."""
    out = np.zeros_like(signal)
    out[1:] = signal[:-1]
    if out.ndim == 1:
        return pd.Series(out, index=index)
    return pd.DataFrame(out, index=index, columns=columns)


def vectorbt_engines() -> tuple[list[str], str]:
    """The vectorbt engines to time, and a line that says which versions they are."""
    import vectorbt as vbt  # noqa: PLC0415  # benchmark-only peer
    from vectorbt._engine import is_rust_available  # noqa: PLC0415  # vectorbt's own check (installed, same version)

    if is_rust_available():
        import vectorbt_rust  # noqa: PLC0415

        return ["numba", "rust"], f"vectorbt {vbt.__version__}, vectorbt-rust {vectorbt_rust.__version__}"
    return ["numba"], f"vectorbt {vbt.__version__}; vectorbt-rust not installed (pip install 'vectorbt[rust]')"


def vectorbt_call(engine: str, close: Any, entries: Any, exits: Any, **kwargs: Any) -> Callable[[], Any]:
    """A call of ``from_signals`` + ``value()`` with ``engine``, as a user makes it (pandas in, pandas out)."""
    import vectorbt as vbt  # noqa: PLC0415

    if close.index.tz is not None:
        msg = "vectorbt is timed on a tz-naive index, as its documentation shows"
        raise ValueError(msg)

    def call() -> tuple[Any, Any]:
        pf = vbt.Portfolio.from_signals(close, entries, exits, engine=engine, **kwargs)
        return pf, pf.value()

    return call


def vectorbt_outcome(result: tuple[Any, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Trade counts (open trades included) and final values, one per column, of a :func:`vectorbt_call`."""
    pf, value = result
    return np.atleast_1d(np.asarray(pf.trades.count())), np.atleast_1d(np.asarray(value.iloc[-1]))


def run_backtesting_py(data: pd.DataFrame, up: np.ndarray, down: np.ndarray, *, cash: float, commission: float,
                       repeat: int) -> tuple[float, int, float]:
    """Median seconds of ``Backtest(...).run()``: buy all in at the next open after ``up``, close after ``down``.

    backtesting.py buys whole units with (1 - eps) of equity; the caller compares it with backgrid run so.
    """
    from backtesting import Backtest, Strategy  # noqa: PLC0415  # benchmark-only peer

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

    frame = data.rename(columns=str.capitalize)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the peer warns about the trade left open at the end
        seconds, stats = median_time(lambda: Backtest(frame, Cross, cash=cash, commission=commission).run(),
                                     repeat, warm=False)
    count = len(stats._trades) + (1 if stats._strategy.position else 0)  # noqa: SLF001
    return seconds, count, float(stats["Equity Final [$]"])


def whole_units() -> dict[str, Any]:
    """backgrid's settings for backtesting.py's sizing: all in but for eps, rounded down to whole units."""
    return {"size": 1 - sys.float_info.epsilon, "lot_size": 1}
