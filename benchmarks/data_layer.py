"""Data-layer benchmarks: store load + validate and resampling of millions of 1-minute bars.

Peers: pandas (``read_parquet`` then the same checks written with pandas, and
``DataFrame.resample().agg``). Targets (issue #2): load + validate >= 20 M rows/s,
resample 10 M rows to 1h in < 1 s, ``backgrid --help`` < 0.5 s.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from backgrid.data.bars import Bars
from backgrid.data.resample import resample
from backgrid.data.store import DataStore
from backgrid.data.validate import validate
from benchmarks.common import median_time, table


def synthetic_minutes(rows: int, seed: int = 1) -> Bars:
    """A valid random walk of ``rows`` 1-minute bars (24/7)."""
    rng = np.random.default_rng(seed)
    ts = 1_514_764_800 * 10**9 + np.arange(rows, dtype=np.int64) * 60 * 10**9
    close = 100 * np.exp(np.cumsum(rng.normal(0, 5e-4, rows)))
    open_ = np.r_[100.0, close[:-1]]
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 2e-4, rows))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 2e-4, rows))
    volume = rng.uniform(1, 50, rows)
    return Bars("BENCH", "1m", ts, open_, high, low, close, volume, calendar="crypto", source="bench")


def pandas_checks(df: pd.DataFrame) -> bool:
    """The same row checks written with pandas, as a peer for validation speed."""
    prices = df[["open", "high", "low", "close"]]
    finite = np.isfinite(df.to_numpy()).all()
    positive = (prices > 0).all().all()
    hl = (df["high"] >= df[["open", "close"]].max(axis=1)).all() and (
        df["low"] <= df[["open", "close"]].min(axis=1)).all()
    ordered = df.index.is_monotonic_increasing and df.index.is_unique
    return bool(finite and positive and hl and ordered and (df["volume"] >= 0).all())


def help_time(repeat: int) -> float:
    """Median seconds for ``backgrid --help`` in a fresh process."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "backgrid", "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def run(rows: int, repeat: int) -> None:
    """Run the data-layer benchmarks and print a table."""
    bars = synthetic_minutes(rows)
    with tempfile.TemporaryDirectory() as home:
        store = DataStore(home)
        store.write(bars)
        path = next(Path(home).rglob("*.parquet"))

        def load_validate() -> Bars:
            loaded = store.read("BENCH", "1m", source="bench")
            report = validate(loaded)
            assert report.ok
            return loaded

        def pandas_load_validate() -> pd.DataFrame:
            df = pd.read_parquet(path)
            assert pandas_checks(df.set_index("ts") if "ts" in df.columns else df)
            return df

        t_load, loaded = median_time(load_validate, repeat)
        assert loaded.equals(bars)
        t_pd_load, _ = median_time(pandas_load_validate, repeat)

    frame = bars.to_pandas()
    agg = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    t_res, hourly = median_time(lambda: resample(bars, "1h"), repeat)
    t_pd_res, peer = median_time(lambda: frame.resample("1h").agg(agg), repeat)
    np.testing.assert_array_equal(hourly.close, peer["close"].to_numpy())
    t_help = help_time(repeat)

    m = rows / 1e6
    print(f"data layer, {rows:,} one-minute bars, median of {repeat} warm runs")
    print(table([
        ("store load + validate", f"{t_load:.3f} s ({m / t_load:.0f} M rows/s)",
         f"pandas read_parquet + checks {t_pd_load:.3f} s", f"{t_pd_load / t_load:.1f}x"),
        ("resample 1m -> 1h", f"{t_res:.3f} s ({m / t_res:.0f} M rows/s)",
         f"pandas resample().agg {t_pd_res:.3f} s", f"{t_pd_res / t_res:.1f}x"),
        ("backgrid --help (new process)", f"{t_help:.3f} s", "-", "-"),
    ]))
    print(f"targets: load + validate >= 20 M rows/s: {'met' if m / t_load >= 20 else 'MISSED'}; "
          f"resample < 1 s: {'met' if t_res < 1 else 'MISSED'}; --help < 0.5 s: {'met' if t_help < 0.5 else 'MISSED'}")
