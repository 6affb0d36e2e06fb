"""The local data store: one Parquet file per series, its metadata inside the file.

Layout::

    <home>/                                  $BACKGRID_HOME, else ~/.backgrid
      data/
        <source>/                            e.g. demo, yfinance (encoded like symbols)
          <symbol>/                          BTC/USDT is stored as BTC%2FUSDT
            <timeframe>.parquet              one series: ts + OHLCV (+ split_factor, dividend)
            .<timeframe>.parquet.lock        taken (flock) while the series is written
            .<timeframe>.parquet.<hex>.tmp   a write in progress (renamed over the file when done)

Names are made filesystem-safe by a reversible percent-encoding: ``%``, ``/``, ``\\``, ``:``,
the characters Windows forbids (``<>"|?*``), control characters and leading dots become ``%XX``
(upper-case hex). On case-insensitive filesystems, symbols that differ only in case share a file.

File format. Columns ``ts`` (``timestamp[ns, UTC]``, the bar open time, strictly increasing),
``open``, ``high``, ``low``, ``close``, ``volume`` and, when the series has them,
``split_factor`` and ``dividend`` (all float64), in one row group, LZ4-compressed: a whole
series reads back in one pass with zero-copy conversion to NumPy (10M rows in about 0.15 s
warm). The key ``backgrid`` of the file's key-value metadata holds a JSON object with the
series metadata (see :class:`SeriesInfo`), so data and metadata change together in one rename.

Concurrency. A write goes to a temporary file in the same directory, is flushed and fsynced,
then renamed over the old file (``os.replace``, atomic on POSIX and Windows): a reader sees the
old series or the new one, never a mix. Writers of one series (both modes) and ``delete`` take
an exclusive ``fcntl.flock`` on the sibling lock file, so concurrent merges never lose rows.
On platforms without ``fcntl`` (Windows) there is no lock: merges are last-writer-wins.
Readers take no lock.

Caching. A store given a :class:`SeriesCache` keeps the series it decoded in memory and serves them again
while their file is the same (same inode, size and modification time: a write renames a new file over the
old one, so a written series is never served from the cache). The service's workers share one per process:
a user's repeated runs on a series skip decoding it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sys
import threading
from collections import OrderedDict
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from backgrid.data.bars import OHLCV, OPTIONAL_COLUMNS, Bars, checksum
from backgrid.data.calendar import CALENDARS, Inference, get_calendar
from backgrid.data.timeframe import Timeframe
from backgrid.errors import (
    AmbiguousSeriesError,
    DataError,
    ProviderError,
    SeriesNotFoundError,
    SourceError,
    StoreError,
)

if sys.platform != "win32":
    import fcntl

if TYPE_CHECKING:
    import builtins
    from collections.abc import Callable, Iterator, Mapping, Sequence

    from backgrid.data.sources.base import DataSource
    from backgrid.data.watch import Watch, WatchRefresh

__all__ = ["DataStore", "Lineage", "MergeCounts", "SeriesCache", "SeriesInfo"]

_META_KEY = b"backgrid"
_FORMAT = 1
_COMPRESSION = "lz4"
_SUFFIX = ".parquet"
_TS_TYPE = pa.timestamp("ns", tz="UTC")
#: Fill values for an optional column one side of a merge lacks.
_DEFAULTS = {"split_factor": 1.0, "dividend": 0.0}
#: How far apart (relative) two vendors' prices of one bar may be and still count as the same bar.
CONFLICT_TOLERANCE = 1e-4
_UNSAFE = frozenset('%/\\:<>"|?*')
_ESCAPE = re.compile(r"%([0-9A-F]{2})")


# -- names ------------------------------------------------------------------------------------------
def _encode_name(name: str) -> str:
    """Return ``name`` made safe as one path component (reversed by :func:`_decode_name`)."""
    out: builtins.list[str] = []
    leading = True
    for char in name:
        leading = leading and char == "."
        code = ord(char)
        if leading or char in _UNSAFE or code < 0x20 or code == 0x7F:
            out.append(f"%{code:02X}")
        else:
            out.append(char)
    return "".join(out)


def _decode_name(encoded: str) -> str:
    """Invert :func:`_encode_name` (every ``%`` in an encoded name starts an escape)."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), encoded)


# -- metadata ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MergeCounts:
    """What a merge did: rows the stored series lacked, rows at times it had, and how many of those differed."""

    added: int
    overlapping: int
    changed: int

    def describe(self) -> str:
        """One line for the user."""
        return (f"merged: {self.added:,} new row(s); {self.overlapping:,} row(s) at times already stored, "
                f"{self.changed:,} of them with different values (the new rows replaced them)")


@dataclass(frozen=True, slots=True)
class Lineage:
    """One vendor's part of a stored series: bars opened from ``start`` to ``end`` (both included), fetched at
    ``fetched_at`` (aware, UTC). Where entries overlap, the later one served the bars (new rows win a merge)."""

    vendor: str
    start: pd.Timestamp
    end: pd.Timestamp
    fetched_at: datetime

    def to_json(self) -> dict[str, Any]:
        """The entry as stored in the file's metadata (times as UTC nanoseconds, ``fetched_at`` in ISO 8601)."""
        return {"vendor": self.vendor, "start": _ns(self.start), "end": _ns(self.end),
                "fetched_at": self.fetched_at.isoformat()}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Lineage:
        """Read an entry written by :meth:`to_json`."""
        return cls(str(raw["vendor"]), pd.Timestamp(int(raw["start"]), tz="UTC"),
                   pd.Timestamp(int(raw["end"]), tz="UTC"), datetime.fromisoformat(raw["fetched_at"]))


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    """What the store knows about one series, read from the file's footer alone.

    ``first_ts``/``last_ts`` are the first and last bar open times (``None`` when empty);
    ``updated_at`` is when the file was written (aware, UTC); ``size_bytes`` is the file's size;
    ``checksum`` is the hex SHA-256 described in :meth:`DataStore.write`; ``span_start``/``span_end``
    bound the request the series answers for (``None`` means open: the series is all there is on
    that side), which :meth:`DataStore.get_or_fetch` uses to decide whether the cache covers a request.
    ``calendar_inferred`` is the reason the calendar was guessed from the data (``None`` when given);
    ``merge`` counts what the last write did when it was a merge into a stored series (else ``None``);
    ``lineage`` says which vendor served which bars (see :class:`Lineage`), oldest first;
    ``adjustment`` what the prices already account for (``"raw"``, ``"splits"`` or ``"total"``, see
    :mod:`backgrid.data.bars`; files of older versions, which lack it, read as ``"raw"``).
    """

    symbol: str
    timeframe: Timeframe
    source: str
    calendar: str
    synthetic: bool
    last_complete: bool
    rows: int
    first_ts: pd.Timestamp | None
    last_ts: pd.Timestamp | None
    updated_at: datetime
    checksum: str
    columns: tuple[str, ...]
    span_start: pd.Timestamp | None
    span_end: pd.Timestamp | None
    path: Path
    size_bytes: int
    calendar_inferred: str | None = None
    merge: MergeCounts | None = None
    lineage: tuple[Lineage, ...] = ()
    adjustment: str = "raw"

    def is_fresh(self, ttl: timedelta | None, now: datetime | None = None) -> bool:
        """Return True when the series was written less than ``ttl`` ago (``None``: never expires).

        ``now`` defaults to the current time; a naive ``now`` is taken as UTC.
        """
        if ttl is None:
            return True
        moment = datetime.now(UTC) if now is None else now
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment - self.updated_at < ttl

    def covers(self, start: pd.Timestamp | None, end: pd.Timestamp | None) -> bool:
        """Return True when a request for ``[start, end)`` lies inside what the series answers for."""
        starts_ok = self.span_start is None or (start is not None and self.span_start <= start)
        ends_ok = self.span_end is None or (end is not None and end <= self.span_end)
        return starts_ok and ends_ok


def _stamp(value: Any) -> pd.Timestamp | None:
    if value is None:
        return None
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _ns(stamp: pd.Timestamp | None) -> int | None:
    return None if stamp is None else int(stamp.as_unit("ns").value)


def _from_ns(value: int | None) -> pd.Timestamp | None:
    return None if value is None else pd.Timestamp(value, tz="UTC")


def _series_columns(bars: Bars) -> dict[str, np.ndarray]:
    return {"ts": bars.ts, **{name: bars.column(name) for name in bars.columns}}


def _metadata(bars: Bars, columns: Mapping[str, np.ndarray],
              span: tuple[pd.Timestamp | None, pd.Timestamp | None], merge: MergeCounts | None,
              lineage: Sequence[Lineage] = ()) -> dict[str, Any]:
    n = len(bars)
    guess = bars.calendar.inferred
    return {
        "format": _FORMAT,
        "symbol": bars.symbol,
        "timeframe": bars.timeframe.code,
        "source": bars.source,
        "calendar": bars.calendar.name,
        "synthetic": bool(bars.synthetic),
        "last_complete": bool(bars.last_complete),
        "adjustment": bars.adjustment,
        "rows": n,
        "first_ts": int(bars.ts[0]) if n else None,
        "last_ts": int(bars.ts[-1]) if n else None,
        "updated_at": datetime.now(UTC).isoformat(),
        "checksum": checksum(columns),
        "columns": list(columns),
        "span_start": _ns(span[0]),
        "span_end": _ns(span[1]),
        "calendar_inferred": None if guess is None else {"confidence": guess.confidence, "reason": guess.reason},
        "merge": None if merge is None else {"added": merge.added, "overlapping": merge.overlapping,
                                             "changed": merge.changed},
        "lineage": [entry.to_json() for entry in lineage],
    }


def _parse_metadata(raw: Mapping[bytes, bytes] | None, path: Path) -> dict[str, Any]:
    blob = (raw or {}).get(_META_KEY)
    if blob is None:
        msg = f"{path} has no backgrid metadata (key 'backgrid' in the Parquet footer); it was not written by DataStore"
        raise StoreError(msg)
    try:
        meta = json.loads(blob)
    except ValueError as exc:
        msg = f"{path} has unreadable backgrid metadata ({exc}); expected a JSON object"
        raise StoreError(msg) from exc
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        msg = f"{path} has backgrid metadata format {found!r}; expected {_FORMAT}"
        raise StoreError(msg)
    return meta


def _info(meta: Mapping[str, Any], path: Path, size: int) -> SeriesInfo:
    guess, merge = meta.get("calendar_inferred"), meta.get("merge")  # absent from files of older versions
    try:
        return SeriesInfo(
            symbol=str(meta["symbol"]),
            timeframe=Timeframe.parse(meta["timeframe"]),
            source=str(meta["source"]),
            calendar=str(meta["calendar"]),
            synthetic=bool(meta["synthetic"]),
            last_complete=bool(meta["last_complete"]),
            rows=int(meta["rows"]),
            first_ts=_from_ns(meta["first_ts"]),
            last_ts=_from_ns(meta["last_ts"]),
            updated_at=datetime.fromisoformat(meta["updated_at"]),
            checksum=str(meta["checksum"]),
            columns=tuple(meta["columns"]),
            span_start=_from_ns(meta["span_start"]),
            span_end=_from_ns(meta["span_end"]),
            path=path,
            size_bytes=size,
            calendar_inferred=None if guess is None else str(guess["reason"]),
            merge=None if merge is None else MergeCounts(int(merge["added"]), int(merge["overlapping"]),
                                                         int(merge["changed"])),
            lineage=tuple(_lineage(meta)),
            adjustment=str(meta.get("adjustment", "raw")),  # absent from files of older versions
        )
    except (KeyError, TypeError, ValueError) as exc:
        msg = f"{path} has incomplete backgrid metadata ({type(exc).__name__}: {exc})"
        raise StoreError(msg) from exc


# -- files ------------------------------------------------------------------------------------------
def _damaged(path: Path, exc: BaseException) -> StoreError:
    msg = (f"cannot read {path}: {exc}; the file is damaged (truncated or not Parquet). "
           "Delete it (DataStore.delete) or write the series again")
    return StoreError(msg)


def _load(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read one series file: its metadata and its columns as (read-only, zero-copy) arrays."""
    try:
        with pq.ParquetFile(path) as parquet:
            raw = parquet.schema_arrow.metadata
            table = parquet.read(use_threads=True)
    except FileNotFoundError:
        raise
    except (pa.ArrowException, OSError) as exc:
        raise _damaged(path, exc) from exc
    meta = _parse_metadata(raw, path)
    names = ["ts", *OHLCV, *(c for c in OPTIONAL_COLUMNS if c in table.column_names)]
    if table.column_names != names or meta.get("columns") != names:
        msg = (f"{path} has columns {table.column_names}; expected {names}, "
               f"as its metadata lists {meta.get('columns')}")
        raise StoreError(msg)
    if table.schema.field("ts").type != _TS_TYPE:
        msg = f"{path} stores ts as {table.schema.field('ts').type}; expected {_TS_TYPE}"
        raise StoreError(msg)
    try:  # one row group gives one chunk: no copy anywhere
        columns = {name: table.column(name).combine_chunks().to_numpy(zero_copy_only=True) for name in names}
    except pa.ArrowException as exc:  # nulls, which backgrid never writes
        raise _damaged(path, exc) from exc
    columns["ts"] = columns["ts"].view(np.int64)
    if meta.get("rows") != columns["ts"].size:
        msg = f"{path} holds {columns['ts'].size} rows; its metadata says {meta.get('rows')}"
        raise StoreError(msg)
    return meta, columns


class SeriesCache:
    """Decoded series files kept in memory up to ``max_bytes``; the least recently read goes first.

    A file is known by its device, inode, size and modification time, taken before and after decoding it
    (a file replaced meanwhile is not kept). A series larger than ``max_bytes`` is never kept.

    >>> cache = SeriesCache(max_bytes=64 * 2**20)
    >>> cache.hits, cache.bytes
    (0, 0)
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[tuple[int, ...], tuple[dict[str, Any], dict[str, np.ndarray], int]] = OrderedDict()
        self._lock = threading.Lock()

    def load(self, path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """What :func:`_load` returns for ``path``, from memory when this very file was decoded before."""
        key = _identity(path)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry[0], entry[1]
            self.misses += 1
        meta, columns = _load(path)
        size = sum(column.nbytes for column in columns.values())
        if size <= self.max_bytes and _identity(path) == key:
            with self._lock:
                if key not in self._entries:
                    self._entries[key] = (meta, columns, size)
                    self.bytes += size
                while self.bytes > self.max_bytes:
                    self.bytes -= self._entries.popitem(last=False)[1][2]
        return meta, columns


def _identity(path: Path) -> tuple[int, ...]:
    stat = path.stat()
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns


def _footer(path: Path) -> SeriesInfo:
    try:
        raw = pq.read_metadata(path).metadata
        size = path.stat().st_size
    except FileNotFoundError:
        raise
    except (pa.ArrowException, OSError) as exc:
        raise _damaged(path, exc) from exc
    return _info(_parse_metadata(raw, path), path, size)


def _table(columns: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> pa.Table:
    arrays = [pa.array(columns["ts"]).view(_TS_TYPE)]
    arrays += [pa.array(values) for name, values in columns.items() if name != "ts"]
    schema_meta = {_META_KEY: json.dumps(meta).encode()}
    return pa.Table.from_arrays(arrays, names=list(columns), metadata=schema_meta)


def _parquet_writer(table: pa.Table) -> Callable[[BinaryIO], None]:
    def write(handle: BinaryIO) -> None:
        pq.write_table(table, handle, compression=_COMPRESSION, row_group_size=max(table.num_rows, 1))

    return write


def _fsync_dir(directory: Path) -> None:
    # Makes the rename durable on POSIX; Windows cannot open directories, and some filesystems refuse.
    with suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> int:
    """Call ``write`` on a temporary sibling, fsync it, rename it over ``path``; return its size."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
            size = os.fstat(handle.fileno()).st_size
        tmp.replace(path)
    except BaseException:
        with suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)
    return size


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive flock on ``lock_path`` (created if needed); a no-op without fcntl."""
    if sys.platform == "win32":  # pragma: no cover - documented: last writer wins
        yield
        return
    while True:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
        except FileNotFoundError:  # a delete removed the directory in between
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            # delete() unlinks lock files: make sure the one we hold is still the one at the path.
            held, current = os.fstat(fd), lock_path.stat()
            if (held.st_dev, held.st_ino) == (current.st_dev, current.st_ino):
                break
        except FileNotFoundError:
            pass
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    try:
        yield
    finally:
        os.close(fd)  # releases the lock


# -- merging ----------------------------------------------------------------------------------------
def _merge(old: Bars, new: Bars) -> tuple[Bars, MergeCounts]:
    """Union of two series of one symbol and timeframe, and what it did; ``new`` wins on equal timestamps."""
    if not len(old):
        return new, MergeCounts(len(new), 0, 0)
    names = OHLCV + tuple(c for c in OPTIONAL_COLUMNS if c in old.columns or c in new.columns)

    def column(bars: Bars, name: str) -> np.ndarray:
        if name in bars.columns:
            return bars.column(name)
        return np.full(len(bars), _DEFAULTS[name])

    keep = np.ones(len(old), dtype=bool)
    changed = 0
    if len(new):
        pos = np.minimum(np.searchsorted(new.ts, old.ts), len(new) - 1)
        keep = new.ts[pos] != old.ts
        at = pos[~keep]  # rows of ``new`` at times ``old`` has
        differs = np.zeros(at.size, dtype=bool)
        for name in names:
            differs |= column(old, name)[~keep] != column(new, name)[at]
        changed = int(np.count_nonzero(differs))
    overlapping = int(np.count_nonzero(~keep))
    ts = np.concatenate([old.ts[keep], new.ts])
    merged = {name: np.concatenate([column(old, name)[keep], column(new, name)]) for name in names}
    if not (ts.size < 2 or bool(np.all(ts[1:] > ts[:-1]))):  # appends, the usual case, need no sort
        order = np.argsort(ts, kind="stable")
        ts = ts[order]
        merged = {name: values[order] for name, values in merged.items()}
    newest = new if len(new) and new.ts[-1] >= old.ts[-1] else old
    bars = _assemble(ts, merged, symbol=new.symbol, timeframe=new.timeframe, calendar=new.calendar,
                     source=new.source, synthetic=old.synthetic or new.synthetic,
                     last_complete=newest.last_complete, adjustment=new.adjustment)
    return bars, MergeCounts(len(new) - overlapping, overlapping, changed)


def _merge_span(a: pd.Timestamp | None, b: pd.Timestamp | None, pick: Any) -> pd.Timestamp | None:
    return None if a is None or b is None else pick(a, b)


# -- lineage ----------------------------------------------------------------------------------------
def _lineage(meta: Mapping[str, Any]) -> builtins.list[Lineage]:
    """The stored lineage; a file of an older version gets one entry: its source served all its bars."""
    raw = meta.get("lineage")
    if raw is not None:
        return [Lineage.from_json(entry) for entry in raw]
    if meta.get("first_ts") is None:
        return []
    return [Lineage(str(meta["source"]), pd.Timestamp(int(meta["first_ts"]), tz="UTC"),
                    pd.Timestamp(int(meta["last_ts"]), tz="UTC"), datetime.fromisoformat(meta["updated_at"]))]


def _entry(bars: Bars, vendor: str, fetched_at: datetime) -> Lineage:
    return Lineage(vendor, pd.Timestamp(int(bars.ts[0]), tz="UTC"), pd.Timestamp(int(bars.ts[-1]), tz="UTC"),
                   fetched_at)


def _vendors(ts: np.ndarray, lineage: Sequence[Lineage], default: str) -> np.ndarray:
    """The vendor that served each bar at ``ts``: the latest lineage entry covering it, else ``default``."""
    out = np.full(ts.size, default, dtype=object)
    for entry in lineage:
        out[(ts >= _ns(entry.start)) & (ts <= _ns(entry.end))] = entry.vendor
    return out


def _check_vendors(old: Bars, lineage: Sequence[Lineage], new: Bars, vendor: str, tolerance: float) -> None:
    """Refuse ``new`` bars of ``vendor`` whose prices disagree with stored bars another vendor served.

    Prices (open, high, low, close) are compared, not volume (vendors count it differently); a stored last bar
    that was not complete is expected to change and is not compared.
    """
    if not len(old) or not len(new):
        return
    pos = np.minimum(np.searchsorted(old.ts, new.ts), len(old) - 1)
    same_time = old.ts[pos] == new.ts
    if not old.last_complete:
        same_time &= pos != len(old) - 1
    at_old, at_new = pos[same_time], np.flatnonzero(same_time)
    others = _vendors(old.ts[at_old], lineage, old.source) != vendor
    at_old, at_new = at_old[others], at_new[others]
    if not at_old.size:
        return
    differs = np.zeros(at_old.size, dtype=bool)
    for name in ("open", "high", "low", "close"):
        a, b = old.column(name)[at_old], new.column(name)[at_new]
        differs |= ~np.isclose(b, a, rtol=tolerance, atol=0.0, equal_nan=True)
    if not differs.any():
        return
    k = int(np.argmax(differs))
    i, j = int(at_old[k]), int(at_new[k])
    stored_by = _vendors(old.ts[i:i + 1], lineage, old.source)[0]
    values = ", ".join(f"{name} {new.column(name)[j]:g} vs {old.column(name)[i]:g}"
                       for name in ("open", "high", "low", "close"))
    msg = (f"{new.symbol!r} {new.timeframe}: {vendor}'s bars disagree with the stored bars of {stored_by} "
           f"at {pd.Timestamp(int(old.ts[i]), tz='UTC')} ({values}; {int(differs.sum())} bar(s) differ by more than "
           f"a relative {tolerance:g}); nothing was written. Store the vendors apart, or delete the series first")
    raise DataError(msg)


def _check_adjustment(old: Bars, new: Bars, vendor: str) -> None:
    """Refuse to merge bars whose prices account for other corporate actions than the stored ones."""
    if old.adjustment != new.adjustment:
        msg = (f"{new.symbol!r} {new.timeframe}: {vendor}'s bars are {new.adjustment!r}-adjusted but the stored "
               f"series is {old.adjustment!r}-adjusted; nothing was written. Convert them first "
               f"(backgrid.data.adjust(bars, to={old.adjustment!r})), store them apart, or replace the series")
        raise DataError(msg)


def _add_lineage(lineage: builtins.list[Lineage], entry: Lineage, step: int) -> builtins.list[Lineage]:
    """``lineage`` with ``entry`` appended; joined to the last entry when the same vendor served both and their
    ranges overlap or touch (``step``: the bar length in nanoseconds), so a refresh after a refresh keeps one."""
    if lineage:
        last = lineage[-1]
        touch = entry.start.value <= last.end.value + step and last.start.value <= entry.end.value + step
        if last.vendor == entry.vendor and touch:
            joined = Lineage(entry.vendor, min(last.start, entry.start), max(last.end, entry.end), entry.fetched_at)
            return [*lineage[:-1], joined]
    return [*lineage, entry]


# -- the store --------------------------------------------------------------------------------------
class DataStore:
    """A directory of Parquet series keyed by ``(source, symbol, timeframe)``.

    ``home`` defaults to ``$BACKGRID_HOME``, else ``~/.backgrid``; series live under
    ``home/data`` (see the module docstring for the layout and the guarantees).

    >>> import tempfile
    >>> from backgrid.testing import random_bars
    >>> store = DataStore(tempfile.mkdtemp())
    >>> store.write(random_bars(n=48, timeframe="1h", symbol="BTC/USDT")).rows
    48
    >>> len(store.read("BTC/USDT", "1h", start="2024-01-02"))
    24
    """

    def __init__(self, home: str | Path | None = None, *, cache: SeriesCache | None = None) -> None:
        if home is None:
            home = os.environ.get("BACKGRID_HOME") or Path("~/.backgrid")
        self.home = Path(home).expanduser()
        self.cache = cache

    def __repr__(self) -> str:
        return f"DataStore({str(self.home)!r})"

    @property
    def data_dir(self) -> Path:
        """The folder that holds the series (``home/data``)."""
        return self.home / "data"

    # -- writing --------------------------------------------------------------------------------
    def write(self, bars: Bars, *, mode: Literal["replace", "merge"] = "replace") -> SeriesInfo:
        """Store ``bars`` under ``(bars.source, bars.symbol, bars.timeframe)`` and return its info.

        ``replace`` swaps the whole series; ``merge`` unions it with the stored one, rows of
        ``bars`` winning on equal timestamps (the info's ``merge`` counts the rows added, overlapping and
        changed; an optional column that one side lacks is filled
        with 1.0 for ``split_factor`` and 0.0 for ``dividend``; calendar and source come from
        ``bars``, ``last_complete`` from whichever side holds the last bar, and the result is
        synthetic if either side is; both sides must have the same ``adjustment``, else a
        :class:`~backgrid.errors.DataError` and nothing is written). The write is atomic: on any
        failure the stored series is untouched and no temporary file is left.

        The series' ``lineage`` records which vendor (``bars.source``, or the vendor a chain named in
        :meth:`backfill`) served which bars. A merge whose prices disagree with stored bars that another vendor
        served, by more than a relative :data:`CONFLICT_TOLERANCE`, is a :class:`~backgrid.errors.DataError`
        naming the first differing bar, and nothing is written; identical overlaps merge.

        The metadata's ``checksum`` is the hex SHA-256 over each stored column in file order
        (``ts``, ``open``, ``high``, ``low``, ``close``, ``volume``, then ``split_factor`` and
        ``dividend`` when present): the column name in UTF-8, a NUL byte, then the values as
        little-endian int64 (``ts``) or float64 bytes.
        """
        return self._write([bars], mode=mode, span=(None, None))

    def _write(self, parts: Sequence[Bars], *, mode: str, span: tuple[pd.Timestamp | None, pd.Timestamp | None],
               key: str | None = None) -> SeriesInfo:
        """Write ``parts`` (merged in order, in one atomic write) under source ``key`` (default: the first's).

        Each part's own ``source`` is the vendor its lineage entry names.
        """
        if mode not in ("replace", "merge"):
            msg = f"mode must be 'replace' or 'merge', got {mode!r}"
            raise DataError(msg)
        for part in parts:
            _check_writable(part)
        first = parts[0]
        key = first.source if key is None else key
        path = self._path(key, first.symbol, first.timeframe)
        fetched_at = datetime.now(UTC)
        counts: MergeCounts | None = None
        stored: Bars | None = None
        lineage: builtins.list[Lineage] = []
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with _locked(self._lock_path(path)):
                if mode == "merge" and path.exists():
                    meta, columns = _load(path)
                    stored, lineage = _bars(meta, columns, path), _lineage(meta)
                    span = (_merge_span(_from_ns(meta["span_start"]), span[0], min),
                            _merge_span(_from_ns(meta["span_end"]), span[1], max))
                for part in parts:
                    vendor = part.source
                    keyed = part if part.source == key else replace(part, source=key)
                    if stored is None:
                        stored = keyed
                        lineage = [_entry(part, vendor, fetched_at)] if len(part) else []
                        continue
                    _check_adjustment(stored, keyed, vendor)
                    _check_vendors(stored, lineage, keyed, vendor, CONFLICT_TOLERANCE)
                    stored, done = _merge(stored, keyed)
                    counts = done if counts is None else MergeCounts(
                        counts.added + done.added, counts.overlapping + done.overlapping,
                        counts.changed + done.changed)
                    if len(part):
                        lineage = _add_lineage(lineage, _entry(part, vendor, fetched_at), first.timeframe.nanos)
                assert stored is not None  # noqa: S101  # parts is never empty
                columns = _series_columns(stored)
                meta = _metadata(stored, columns, span, counts, lineage)
                size = _atomic_write(path, _parquet_writer(_table(columns, meta)))
        except StoreError:
            raise
        except OSError as exc:
            msg = f"cannot write {first.symbol!r} {first.timeframe} from {key!r} to {path}: {exc}"
            raise StoreError(msg) from exc
        return _info(meta, path, size)

    # -- reading --------------------------------------------------------------------------------
    def read(
        self, symbol: str, timeframe: str | Timeframe, *, source: str | None = None,
        start: Any = None, end: Any = None, verify: bool = False,
    ) -> Bars:
        """Return the stored series, restricted to bars opened in ``[start, end)``.

        ``source=None`` picks the only source that holds ``symbol`` at ``timeframe``
        (:class:`AmbiguousSeriesError` when several do). Bounds are anything pandas parses,
        UTC when naive. The arrays are read-only views of the decoded file; copy before
        changing them. ``verify=True`` recomputes the checksum and raises
        :class:`~backgrid.errors.StoreError` when it differs.
        """
        tf = Timeframe.parse(timeframe)
        path = self._find(symbol, tf, source)
        try:
            meta, columns = _load(path) if self.cache is None else self.cache.load(path)
        except FileNotFoundError:
            raise self._not_found(symbol, tf, source) from None
        if meta.get("symbol") != symbol or meta.get("timeframe") != tf.code:
            msg = (f"{path} holds {meta.get('symbol')!r} {meta.get('timeframe')}; "
                   f"expected {symbol!r} {tf} as its path says")
            raise StoreError(msg)
        if verify and checksum(columns) != meta.get("checksum"):
            msg = (f"checksum mismatch in {path} ({symbol!r} {tf}): the data does not match the "
                   f"checksum {meta.get('checksum')!r} written with it; write the series again")
            raise StoreError(msg)
        bars = _bars(meta, columns, path)
        lo, hi = _stamp(start), _stamp(end)
        if lo is None and hi is None:
            return bars
        return bars.slice(lo, hi)

    def info(self, symbol: str, timeframe: str | Timeframe, source: str | None = None) -> SeriesInfo:
        """Return the metadata of one series, reading only the file's footer."""
        tf = Timeframe.parse(timeframe)
        try:
            return _footer(self._find(symbol, tf, source))
        except FileNotFoundError:
            raise self._not_found(symbol, tf, source) from None

    def is_fresh(self, symbol: str, timeframe: str | Timeframe, *, ttl: timedelta | None,
                 source: str | None = None, now: datetime | None = None) -> bool:
        """Return True when the series is stored and was written less than ``ttl`` ago."""
        try:
            info = self.info(symbol, timeframe, source)
        except SeriesNotFoundError:
            return False
        return info.is_fresh(ttl, now)

    def get_or_fetch(
        self, source: DataSource, symbol: str, timeframe: str | Timeframe, *,
        ttl: timedelta | None, start: Any = None, end: Any = None,
    ) -> Bars:
        """Return bars opened in ``[start, end)``, from the store when it can answer, else from ``source``.

        The stored series answers when it is fresh (written less than ``ttl`` ago; ``None``
        never expires) and covers the request: a series fetched for ``[a, b)`` answers
        requests inside ``[a, b)``, and one written with :meth:`write` answers any range.
        Otherwise the bars are fetched, stored (replacing the old series) and returned. A
        damaged stored file is fetched again and replaced.
        """
        tf = Timeframe.parse(timeframe)
        lo, hi = _stamp(start), _stamp(end)
        with suppress(StoreError):  # missing or damaged: fetch below
            stored = self.info(symbol, tf, source.name)
            if stored.is_fresh(ttl) and stored.covers(lo, hi):
                return self.read(symbol, tf, source=source.name, start=lo, end=hi)
        bars = self._fetch(source, symbol, tf, lo, hi)
        self._write([bars], mode="replace", span=(lo, hi), key=source.name)  # the lineage keeps the vendor
        bars = bars if bars.source == source.name else replace(bars, source=source.name)
        return bars if lo is None and hi is None else bars.slice(lo, hi)

    def backfill(
        self, source: DataSource, symbol: str, timeframe: str | Timeframe, *,
        start: Any = None, end: Any = None, ttl: timedelta | None = None,
    ) -> Bars:
        """Return bars opened in ``[start, end)``, fetching from ``source`` only the pieces the store lacks.

        With nothing stored, the whole range is fetched. Otherwise the pieces fetched are the one before the
        stored bars (when ``start`` is earlier than what the series answers for) and the one after them (when
        ``end`` is later, or ``end`` is ``None`` and the series is older than ``ttl``; the piece starts at the
        last stored bar when that bar was incomplete, so it is replaced). A piece for which the source has no
        bars (a plain :class:`~backgrid.errors.SourceError`) adds nothing. Every piece is fetched before
        anything is written, then all are merged in one atomic write: a vendor failing on any piece
        (a :class:`~backgrid.errors.ProviderError`) leaves the stored file untouched. The bars keep their
        vendor in the series' ``lineage`` (a :class:`~backgrid.data.providers.chain.ProviderChain` names the
        vendor that answered); they are stored under ``source.name``.
        """
        tf = Timeframe.parse(timeframe)
        lo, hi = _stamp(start), _stamp(end)
        try:
            info: SeriesInfo | None = self.info(symbol, tf, source.name)
        except SeriesNotFoundError:
            info = None
        if info is None or info.first_ts is None or info.last_ts is None:
            bars = self._fetch(source, symbol, tf, lo, hi)
            self._write([bars], mode="replace", span=(lo, hi), key=source.name)
            return self.read(symbol, tf, source=source.name, start=lo, end=hi)
        pieces: builtins.list[tuple[pd.Timestamp | None, pd.Timestamp | None]] = []
        have_lo = info.span_start if info.span_start is not None else info.first_ts
        if (lo is None and info.span_start is not None) or (lo is not None and lo < have_lo):
            pieces.append((lo, info.first_ts))
        after = info.last_ts if not info.last_complete else info.last_ts + pd.Timedelta(tf.nanos)
        have_hi = info.span_end if info.span_end is not None else after
        tail: pd.Timestamp | None = None
        if (hi is None and not info.is_fresh(ttl)) or (hi is not None and hi > have_hi):
            tail = min(after, hi) if hi is not None else after
        asked = [*pieces, *([(tail, hi)] if tail is not None else [])]
        fetched: builtins.list[Bars] = []
        for piece_lo, piece_hi in asked:  # every piece before any write: a failure writes nothing
            got = self._piece(source, symbol, tf, piece_lo, piece_hi)
            if got is not None:
                fetched.append(got)
        if fetched:
            span = (lo if pieces else info.span_start, hi if hi is not None and hi > have_hi else info.span_end)
            self._write(fetched, mode="merge", span=span, key=source.name)
        return self.read(symbol, tf, source=source.name, start=lo, end=hi)

    def refresh(self, source: DataSource, symbol: str, timeframe: str | Timeframe) -> SeriesInfo:
        """Append the bars newer than the stored series from ``source`` (the last bar again when incomplete).

        :class:`~backgrid.errors.SeriesNotFoundError` when nothing is stored under ``source.name``.
        """
        tf = Timeframe.parse(timeframe)
        info = self.info(symbol, tf, source.name)
        self.backfill(source, symbol, tf, start=info.first_ts, ttl=timedelta(0))
        return self.info(symbol, tf, source.name)

    # -- the watch list -------------------------------------------------------------------------
    def watch(self, symbol: str, timeframe: str | Timeframe, provider: str | None = None, *,
              ttl: timedelta | str | None = None) -> Watch:
        """Add a series to the watch list (``home/watch.json``, see :mod:`backgrid.data.watch`); return the watch.

        ``provider`` is the vendor or asset class to fetch from and store under (default: the source of the
        series when one vendor's is stored, else the asset class the symbol suggests:
        :func:`~backgrid.data.providers.chain.guess_asset_class`); ``ttl`` (a timedelta or ``30m``, ``6h``,
        ``1d``, ``2w``) how old the series may get, one bar by default. Watching it again changes its ttl.
        """
        from backgrid.data.providers.chain import guess_asset_class, vendor_source  # noqa: PLC0415
        from backgrid.data.watch import Watch, changing, parse_ttl  # noqa: PLC0415

        tf = Timeframe.parse(timeframe)
        if provider is None:
            vendors = [i.source for i in self.list(symbol=symbol) if i.timeframe == tf and _is_vendor(i.source)]
            provider = vendors[0] if len(vendors) == 1 else guess_asset_class(symbol)
        vendor_source(provider)  # an unknown provider is an error now, not at the first refresh
        if ttl is None:  # one bar
            life = timedelta(microseconds=tf.nanos // 1000)
        else:
            life = parse_ttl(ttl) if isinstance(ttl, str) else ttl
        if life <= timedelta(0):
            msg = f"ttl must be positive, got {life}"
            raise DataError(msg)
        new = Watch(symbol, tf, provider, life)
        with changing(self) as watches:
            old = next((w for w in watches if w.key() == new.key()), None)
            if old is not None:
                new = replace(new, refreshed_at=old.refreshed_at)
            watches[:] = [w for w in watches if w.key() != new.key()] + [new]
        return new

    def unwatch(self, symbol: str, timeframe: str | Timeframe | None = None, provider: str | None = None) -> int:
        """Remove the matching watches (any timeframe or provider when ``None``); return how many."""
        from backgrid.data.watch import changing  # noqa: PLC0415

        code = None if timeframe is None else Timeframe.parse(timeframe).code
        with changing(self) as watches:
            keep = [w for w in watches if not (w.symbol == symbol and code in (None, w.timeframe.code)
                                               and provider in (None, w.provider))]
            removed = len(watches) - len(keep)
            watches[:] = keep
        return removed

    def watched(self) -> builtins.list[Watch]:
        """The watch list, in the order the series were added."""
        from backgrid.data.watch import load  # noqa: PLC0415

        return load(self)

    def refresh_watched(self, now: datetime | None = None,
                        sources: Callable[[str], DataSource] | None = None) -> builtins.list[WatchRefresh]:
        """Refresh the watched series that are due at ``now`` (default: the current time; naive: UTC).

        A series is due when nothing is stored, or when it and its last refresh are both at least its ttl old
        (:meth:`~backgrid.data.watch.Watch.due`); a due series gets the bars newer than its last one
        (:meth:`refresh`), or all a vendor serves when nothing is stored (:meth:`backfill`). ``sources`` makes
        the data source of a provider name (default: the registry's chain,
        :func:`~backgrid.data.providers.chain.vendor_source`). A failure is reported in its
        :class:`~backgrid.data.watch.WatchRefresh` and the others go on; the watch list records each success.
        """
        from backgrid.data.watch import refresh  # noqa: PLC0415

        return refresh(self, now=now, sources=sources)

    def _fetch(self, source: DataSource, symbol: str, tf: Timeframe, lo: pd.Timestamp | None,
               hi: pd.Timestamp | None) -> Bars:
        bars = source.fetch(symbol, tf, start=lo, end=hi)
        if bars.timeframe != tf:
            msg = f"source {source.name!r} returned {bars.symbol!r} at {bars.timeframe}; expected {tf}"
            raise SourceError(msg)
        return bars if bars.symbol == symbol else replace(bars, symbol=symbol)  # stored under the key asked by

    def _piece(self, source: DataSource, symbol: str, tf: Timeframe, lo: pd.Timestamp | None,
               hi: pd.Timestamp | None) -> Bars | None:
        """A missing piece of a stored series, ``None`` when the source has no bars there."""
        try:
            bars = self._fetch(source, symbol, tf, lo, hi)
        except ProviderError:
            raise
        except SourceError:
            return None
        return bars.slice(lo, hi) if len(bars) else None

    # -- housekeeping ---------------------------------------------------------------------------
    def delete(self, symbol: str, timeframe: str | Timeframe | None = None, source: str | None = None) -> int:
        """Remove the matching series (any timeframe or source when ``None``); return how many."""
        tf = None if timeframe is None else Timeframe.parse(timeframe)
        removed = 0
        for src, _, path in self._scan(source=source, symbol=symbol):
            if tf is not None and path.stem != tf.code:
                continue
            try:
                with _locked(self._lock_path(path)):
                    path.unlink(missing_ok=True)
                    self._lock_path(path).unlink(missing_ok=True)
            except OSError as exc:
                msg = f"cannot delete {path} ({symbol!r} from {src!r}): {exc}"
                raise StoreError(msg) from exc
            removed += 1
            for folder in (path.parent, path.parent.parent):
                with suppress(OSError):  # not empty: other series or a concurrent write live there
                    folder.rmdir()
        return removed

    def list(self, source: str | None = None, symbol: str | None = None) -> builtins.list[SeriesInfo]:
        """Return the info of every stored series, optionally of one source or symbol, sorted."""
        infos = [_footer(path) for _, _, path in self._scan(source=source, symbol=symbol)]
        return sorted(infos, key=lambda i: (i.source, i.symbol, i.timeframe.nanos))

    # -- paths ----------------------------------------------------------------------------------
    def _path(self, source: str, symbol: str, timeframe: Timeframe) -> Path:
        for what, name in (("source", source), ("symbol", symbol)):
            if not isinstance(name, str) or not name:
                msg = f"{what} must be a non-empty string, got {name!r}"
                raise DataError(msg)
        return self.data_dir / _encode_name(source) / _encode_name(symbol) / f"{timeframe.code}{_SUFFIX}"

    @staticmethod
    def _lock_path(path: Path) -> Path:
        return path.with_name(f".{path.name}.lock")

    def _scan(self, *, source: str | None = None,
              symbol: str | None = None) -> builtins.list[tuple[str, str, Path]]:
        """Return ``(source, symbol, path)`` of the series files present, without opening them."""
        found: builtins.list[tuple[str, str, Path]] = []
        sources = [self.data_dir / _encode_name(source)] if source is not None else _subdirs(self.data_dir)
        for src_dir in sources:
            symbols = [src_dir / _encode_name(symbol)] if symbol is not None else _subdirs(src_dir)
            for sym_dir in symbols:
                with suppress(OSError):
                    found.extend(
                        (_decode_name(src_dir.name), _decode_name(sym_dir.name), path)
                        for path in sorted(sym_dir.iterdir())
                        if path.suffix == _SUFFIX and not path.name.startswith(".") and path.is_file()
                    )
        return found

    def _find(self, symbol: str, timeframe: Timeframe, source: str | None) -> Path:
        if source is not None:
            return self._path(source, symbol, timeframe)
        self._path("-", symbol, timeframe)  # validates the symbol
        matches = [(src, path) for src, _, path in self._scan(symbol=symbol) if path.stem == timeframe.code]
        if not matches:
            raise self._not_found(symbol, timeframe, None)
        if len(matches) > 1:
            names = ", ".join(src for src, _ in matches)
            msg = (f"{symbol!r} {timeframe} is stored from several sources ({names}); pick one with source= "
                   "(--source on the command line, market.source in a strategy document)")
            raise AmbiguousSeriesError(msg)
        return matches[0][1]

    def _not_found(self, symbol: str, timeframe: Timeframe, source: str | None) -> SeriesNotFoundError:
        stored = [(src, path.stem) for src, _, path in self._scan(symbol=symbol)]
        where = "any source" if source is None else f"source {source!r}"
        held = (f"it has {symbol!r} as: {', '.join(f'{src} {code}' for src, code in stored)}" if stored
                else f"it has nothing for {symbol!r}")
        msg = f"no series {symbol!r} {timeframe} from {where} in the store at {self.data_dir}; {held}"
        return SeriesNotFoundError(msg + _resample_hint(symbol, timeframe, source, stored))


def _is_vendor(source: str) -> bool:
    """True when ``source`` names a vendor or an asset class's chain (a series that can be fetched again)."""
    from backgrid.data.providers.chain import vendor_source  # noqa: PLC0415

    try:
        vendor_source(source)
    except SourceError:
        return False
    return True


def _resample_hint(symbol: str, timeframe: Timeframe, source: str | None,
                   stored: builtins.list[tuple[str, str]]) -> str:
    """The ``backgrid data resample`` command that builds ``timeframe`` from the longest stored shorter one."""
    lower: builtins.list[tuple[Timeframe, str]] = []
    for src, code in stored:
        with suppress(DataError):  # a file name that is no timeframe is no source to resample from
            tf = Timeframe.parse(code)
            if (source is None or src == source) and tf < timeframe and tf.divides(timeframe):
                lower.append((tf, src))
    if not lower:
        return ""
    tf, src = max(lower, key=lambda pair: pair[0])
    pick = f" --source {src}" if len({s for _, s in lower}) > 1 or source is not None else ""
    return f"; build it with `backgrid data resample {symbol} --from {tf} --to {timeframe}{pick}`"


def _subdirs(folder: Path) -> builtins.list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return []


def _assemble(ts: np.ndarray, columns: Mapping[str, np.ndarray], **options: Any) -> Bars:
    return Bars(
        ts=ts, open=columns["open"], high=columns["high"], low=columns["low"], close=columns["close"],
        volume=columns["volume"], split_factor=columns.get("split_factor"), dividend=columns.get("dividend"),
        **options,
    )


def _bars(meta: Mapping[str, Any], columns: Mapping[str, np.ndarray], path: Path) -> Bars:
    try:
        calendar = get_calendar(meta["calendar"])
        guess = meta.get("calendar_inferred")  # absent from files of older versions
        if guess is not None:
            calendar = replace(calendar, inferred=Inference(guess["confidence"], guess["reason"]))
        return _assemble(columns["ts"], columns, symbol=meta["symbol"], timeframe=Timeframe.parse(meta["timeframe"]),
                         calendar=calendar, source=meta["source"],
                         synthetic=bool(meta["synthetic"]), last_complete=bool(meta["last_complete"]),
                         adjustment=str(meta.get("adjustment", "raw")))  # absent from files of older versions
    except (KeyError, TypeError, DataError) as exc:
        msg = f"{path} has metadata the store cannot use ({type(exc).__name__}: {exc})"
        raise StoreError(msg) from exc


def _check_writable(bars: Bars) -> None:
    ts = bars.ts
    bad = np.flatnonzero(ts[1:] <= ts[:-1])
    if bad.size:
        row = int(bad[0]) + 1
        msg = (f"{bars.symbol!r} {bars.timeframe}: ts must be strictly increasing; row {row} "
               f"({ts[row]}) is not after row {row - 1} ({ts[row - 1]})")
        raise DataError(msg)
    name = bars.calendar.name
    if CALENDARS.get(name) != bars.calendar:
        msg = (f"{bars.symbol!r} has calendar {name!r}, which the store cannot name; "
               f"expected one of {', '.join(CALENDARS)}")
        raise DataError(msg)
