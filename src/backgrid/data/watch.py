"""The watch list: series that a scheduler keeps fresh (:meth:`DataStore.refresh_watched`).

It lives in the store's home as ``watch.json``::

    {"format": 1, "watches": [{"symbol": "AAPL", "timeframe": "1d", "provider": "equity",
                               "ttl_seconds": 86400, "refreshed_at": "2024-03-01T22:00:00+00:00"}]}

A watch is keyed by ``(symbol, timeframe, provider)``; ``provider`` is the source the series is stored under
and fetched from: a vendor (``yfinance``) or an asset class's chain (``equity``, see
:func:`~backgrid.data.providers.chain.vendor_source`). A watched series is *due* when nothing is stored, or
when both the stored file (its ``updated_at``) and the watch's last successful refresh (``refreshed_at``: a
refresh that finds no new bars writes no file) are at least ``ttl`` old. Changes take the file's lock and
replace it atomically, like a series.
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from backgrid.data.timeframe import Timeframe
from backgrid.errors import BackgridError, DataError, SeriesNotFoundError, StoreError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from backgrid.data.sources.base import DataSource
    from backgrid.data.store import DataStore, SeriesInfo

__all__ = ["Watch", "WatchRefresh", "format_ttl", "parse_ttl"]

_FORMAT = 1
_NAME = "watch.json"
_TTL = re.compile(r"^([1-9][0-9]*)(s|m|h|d|w)$")
_UNITS = {"w": 7 * 86_400, "d": 86_400, "h": 3_600, "m": 60, "s": 1}


def parse_ttl(text: str) -> timedelta:
    """A time to live written ``30m``, ``6h``, ``1d`` or ``2w`` (``s`` for seconds)."""
    found = _TTL.match(text.strip())
    if found is None:
        msg = f"ttl must be a whole number and a unit, s m h d or w (30m, 6h, 1d, 2w), got {text!r}"
        raise DataError(msg)
    return timedelta(seconds=int(found.group(1)) * _UNITS[found.group(2)])


def format_ttl(ttl: timedelta) -> str:
    """``ttl`` in the largest unit that writes it whole (``1d``, ``36h``); :func:`parse_ttl` reads it back."""
    seconds = int(ttl.total_seconds())
    unit = next(u for u, size in _UNITS.items() if seconds % size == 0)
    return f"{seconds // _UNITS[unit]}{unit}"


@dataclass(frozen=True, slots=True)
class Watch:
    """One watched series: refreshed from ``provider`` when older than ``ttl`` (see the module docstring)."""

    symbol: str
    timeframe: Timeframe
    provider: str
    ttl: timedelta
    refreshed_at: datetime | None = None

    def key(self) -> tuple[str, str, str]:
        """What identifies the watch: symbol, timeframe code and provider."""
        return self.symbol, self.timeframe.code, self.provider

    def due(self, info: SeriesInfo | None, now: datetime) -> bool:
        """True when the series must be refreshed at ``now`` (``info``: the stored series, ``None`` if none)."""
        if info is None:
            return True
        if info.is_fresh(self.ttl, now):
            return False
        return self.refreshed_at is None or now - self.refreshed_at >= self.ttl

    def to_json(self) -> dict[str, Any]:
        """The entry as ``watch.json`` holds it."""
        return {"symbol": self.symbol, "timeframe": self.timeframe.code, "provider": self.provider,
                "ttl_seconds": int(self.ttl.total_seconds()),
                "refreshed_at": None if self.refreshed_at is None else self.refreshed_at.isoformat()}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Watch:
        """Read an entry written by :meth:`to_json`."""
        refreshed = raw.get("refreshed_at")
        return cls(str(raw["symbol"]), Timeframe.parse(raw["timeframe"]), str(raw["provider"]),
                   timedelta(seconds=int(raw["ttl_seconds"])),
                   None if refreshed is None else datetime.fromisoformat(refreshed))


@dataclass(frozen=True, slots=True)
class WatchRefresh:
    """What :meth:`DataStore.refresh_watched` did with one watch: ``status`` ``fresh`` (not due, not asked),
    ``refreshed`` (``added`` bars more than before) or ``failed`` (``error`` says why; nothing was written)."""

    watch: Watch
    status: Literal["fresh", "refreshed", "failed"]
    added: int = 0
    error: str | None = None


def _path(store: DataStore) -> Path:
    return store.home / _NAME


def load(store: DataStore) -> list[Watch]:
    """The watches in ``store``'s home, in the order they were added (none without a file)."""
    path = _path(store)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        msg = f"cannot read the watch list {path}: {exc}; expected JSON written by DataStore.watch"
        raise StoreError(msg) from exc
    if not isinstance(raw, dict) or raw.get("format") != _FORMAT:
        found = raw.get("format") if isinstance(raw, dict) else type(raw).__name__
        msg = f"the watch list {path} has format {found!r}; expected {_FORMAT}"
        raise StoreError(msg)
    try:
        return [Watch.from_json(entry) for entry in raw["watches"]]
    except (KeyError, TypeError, ValueError, DataError) as exc:
        msg = f"the watch list {path} has an entry the store cannot read ({type(exc).__name__}: {exc})"
        raise StoreError(msg) from exc


def _save(store: DataStore, watches: list[Watch]) -> None:
    from backgrid.data.store import _atomic_write  # noqa: PLC0415  # the store imports this module lazily

    blob = json.dumps({"format": _FORMAT, "watches": [w.to_json() for w in watches]}, indent=2).encode() + b"\n"
    _atomic_write(_path(store), lambda handle: handle.write(blob))


@contextmanager
def changing(store: DataStore) -> Iterator[list[Watch]]:
    """Hold the watch list's lock; yield its watches to change in place, saved when the block ends."""
    from backgrid.data.store import _locked  # noqa: PLC0415

    path = _path(store)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(path.with_name(f".{_NAME}.lock")):
            watches = load(store)
            before = list(watches)
            yield watches
            if watches != before:
                _save(store, watches)
    except OSError as exc:
        msg = f"cannot write the watch list {path}: {exc}"
        raise StoreError(msg) from exc


def _stored(store: DataStore, watch: Watch) -> SeriesInfo | None:
    try:
        return store.info(watch.symbol, watch.timeframe, watch.provider)
    except SeriesNotFoundError:
        return None


def refresh(store: DataStore, *, now: datetime | None, sources: Callable[[str], DataSource] | None
            ) -> list[WatchRefresh]:
    """Refresh the watches that are due (see :meth:`DataStore.refresh_watched`)."""
    from backgrid.data.providers.chain import vendor_source  # noqa: PLC0415  # the adapters load on demand

    moment = datetime.now(UTC) if now is None else now
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    make = vendor_source if sources is None else sources
    results: list[WatchRefresh] = []
    for watch in load(store):
        try:
            info = _stored(store, watch)
            if not watch.due(info, moment):
                results.append(WatchRefresh(watch, "fresh"))
                continue
            source = make(watch.provider)
            if info is None:
                store.backfill(source, watch.symbol, watch.timeframe)
                after = store.info(watch.symbol, watch.timeframe, watch.provider)
            else:
                after = store.refresh(source, watch.symbol, watch.timeframe)
        except BackgridError as exc:  # one vendor failing leaves the other series to refresh
            results.append(WatchRefresh(watch, "failed", error=str(exc)))
            continue
        done = replace(watch, refreshed_at=moment)
        with changing(store) as watches:
            watches[:] = [done if w.key() == watch.key() else w for w in watches]
        results.append(WatchRefresh(done, "refreshed", added=after.rows - (0 if info is None else info.rows)))
    return results
