"""A writer process for the store's concurrency tests (run with ``sys.executable``).

Usage: ``python _store_worker.py HOME ROLE WORKER COUNT`` where ROLE is

- ``replace``: write versions ``make_version(WORKER, k)`` for ``k`` in ``range(COUNT)``;
- ``merge``: merge the chunks ``make_chunk(WORKER, c, workers=COUNT)`` for every chunk ``c``.

The process prints ``ready``, waits for a line on stdin (so that all workers start together),
does its writes and prints ``done``. The test imports this file for ``make_version`` and
``make_chunk``, so writers and reader agree on what every version holds.
"""

from __future__ import annotations

import sys

import numpy as np

from backgrid.data.bars import Bars
from backgrid.data.store import DataStore

SYMBOL = "BTC/USDT"
SOURCE = "proc"
BASE = 1_700_000_000 * 10**9
MINUTE = 60 * 10**9
VERSION_STRIDE = 100_000
CHUNKS = 8
CHUNK_ROWS = 50


def make_version(writer: int, k: int) -> Bars:
    """Return version ``k`` of ``writer``: every value derives from the id, lengths differ."""
    vid = writer * VERSION_STRIDE + k
    n = 500 + (writer * 7919 + k * 104_729) % 3000
    rows = np.arange(n, dtype=np.float64)
    return Bars(
        symbol=SYMBOL, timeframe="1m", ts=BASE + (np.arange(n, dtype=np.int64) + k % 7) * MINUTE,
        open=vid + rows, high=vid + rows + 0.5, low=vid + rows - 0.5, close=vid + rows + 0.25,
        volume=np.full(n, float(vid)), split_factor=np.ones(n) if k % 2 == 0 else None,
        calendar="crypto", source=SOURCE, synthetic=True, last_complete=k % 3 != 0,
    )


def make_chunk(worker: int, chunk: int, *, workers: int) -> Bars:
    """Return the rows ``[(chunk * workers + worker) * CHUNK_ROWS, ... + CHUNK_ROWS)`` of the full series."""
    first = (chunk * workers + worker) * CHUNK_ROWS
    rows = np.arange(first, first + CHUNK_ROWS)
    values = rows.astype(np.float64)
    return Bars(
        symbol=SYMBOL, timeframe="1m", ts=BASE + rows.astype(np.int64) * MINUTE, open=values,
        high=values + 1, low=values - 1, close=values, volume=values * 10,
        calendar="crypto", source=SOURCE,
    )


def main(home: str, role: str, worker: int, count: int) -> None:
    """Run one writer (see the module docstring)."""
    store = DataStore(home)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdin.readline()
    if role == "replace":
        for k in range(count):
            store.write(make_version(worker, k), mode="replace")
    else:
        for chunk in range(CHUNKS):
            store.write(make_chunk(worker, chunk, workers=count), mode="merge")
    sys.stdout.write("done\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
