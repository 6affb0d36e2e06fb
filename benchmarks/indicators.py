"""Indicator benchmarks: every registered module on 1M bars, next to TA-Lib where it has a twin.

Goals (issue #4): no module slower than 1.5x TA-Lib, the whole library on 1M bars in under 2 s.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backgrid import indicators
from backgrid.testing import random_bars
from benchmarks.common import median_time, table


def _talib_call(spec: Any, inputs: dict[str, np.ndarray], params: dict[str, Any]) -> Any:
    from talib import abstract  # noqa: PLC0415  # optional peer

    ref = spec.talib
    func = abstract.Function(ref.function)
    kwargs = {ref.params[k]: v for k, v in params.items() if k in ref.params} | dict(ref.fixed)
    return lambda: func(inputs, **kwargs)


def run(rows: int, repeat: int) -> None:
    """Time every module at its default parameters and print the table."""
    bars = random_bars(rows, timeframe="1m", seed=5)
    arrays: dict[str, Any] = {c: bars.column(c) for c in bars.columns}
    arrays.update(ts=bars.ts, calendar=bars.calendar)
    talib_inputs = {c: bars.column(c) for c in ("open", "high", "low", "close", "volume")}
    rows_out, total, slow = [], 0.0, []
    for spec in indicators.list():
        params = spec.resolve({})
        t_ours, _ = median_time(lambda spec=spec, params=params: indicators.compute_arrays(spec.id, arrays,
                                                                                          **params), repeat)
        total += t_ours
        peer, ratio = "-", "-"
        if spec.talib is not None:
            t_talib, _ = median_time(_talib_call(spec, talib_inputs, params), repeat)
            peer = f"TA-Lib {spec.talib.function} {t_talib * 1e3:.1f} ms"
            ratio = f"{t_talib / t_ours:.2f}x"
            if t_ours > 1.5 * t_talib:
                slow.append(spec.id)
        rows_out.append((spec.id, f"{t_ours * 1e3:.1f} ms", peer, ratio))
    print(f"indicators, {rows:,} bars, default parameters, median of {repeat} warm runs")
    print(table(rows_out))
    print(f"whole library ({len(rows_out)} modules): {total:.2f} s (goal < 2 s: {'met' if total < 2 else 'MISSED'}); "
          f"slower than 1.5x TA-Lib: {', '.join(slow) or 'none'}")
