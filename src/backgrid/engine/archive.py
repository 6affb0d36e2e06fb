"""A result on disk: one ``.npz`` file that :meth:`Result.load` turns back into the same result.

The file holds the raw arrays (bar times, trade and order records, equity, summary, final state, parameters,
prices, split ratios) as NumPy arrays, with no pickle, and one JSON document (``meta``) for the rest: column
labels, assets, calendar, bar length, periods per year, engine config and warnings. A report, a run diff or
the service reads a stored run through it without running the engine again. ``FORMAT`` names the layout;
files of layout 1 (the bar times in ``meta``, which cost a JSON number each to write and read) are read too;
a file of another layout is refused with what it holds.
"""

from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from backgrid.data.calendar import Calendar
from backgrid.engine.config import EngineConfig
from backgrid.errors import ResultFileError

if TYPE_CHECKING:
    from backgrid.engine.result import Result

__all__ = ["FORMAT", "load_result", "save_result"]

#: the layout this module writes; it reads :data:`_READS`
FORMAT = "backgrid-result/2"
_READS = ("backgrid-result/1", FORMAT)

_PRICES = ("open", "high", "low", "close")


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _labels(columns: pd.Index) -> dict[str, Any]:
    names = [None if n is None else str(n) for n in columns.names]
    return {"names": names, "values": [list(map(_plain, v)) if isinstance(v, tuple) else _plain(v) for v in columns]}


def _columns(labels: dict[str, Any]) -> pd.Index:
    names, values = labels["names"], labels["values"]
    if len(names) > 1:
        multi: pd.MultiIndex = pd.MultiIndex.from_tuples([tuple(v) for v in values], names=names)
        return multi
    plain: pd.Index = pd.Index(values, name=names[0])
    return plain


def save_result(result: Result, path: str | Path) -> Path:
    """Write ``result`` to ``path`` (``.npz`` is added when missing) and return the path.

    >>> import backgrid, tempfile, numpy as np
    >>> bars = backgrid.demo_bars("DEMO-SPY", "1d")
    >>> run = backgrid.backtest(bars, entries=np.arange(len(bars)) % 20 == 0, exits=np.arange(len(bars)) % 20 == 10)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     again = backgrid.Result.load(run.save(f"{folder}/run"))
    >>> again.stats.equals(run.stats)
    True
    """
    out = Path(path)
    out = out if out.suffix == ".npz" else out.with_name(out.name + ".npz")
    calendar = dataclasses.asdict(result._calendar) | {"inferred": None}  # noqa: SLF001  # the class's own state
    meta = {
        "format": FORMAT,
        "index_name": result.index.name,
        "labels": _labels(result.columns),
        "assets": result.assets,
        "calendar": calendar,
        "bar_ns": result._bar_ns,  # noqa: SLF001
        "periods_per_year": result._ppy,  # noqa: SLF001
        "config": None if result.config is None else result.config.to_dict(),
        "warnings": result.warnings,
    }
    arrays: dict[str, Any] = {
        "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
        "index": np.asarray(result.index.as_unit("ns").asi8, dtype=np.int64), "trades": result.records,
        "orders": result.order_records, "equity": result._equity, "summary": result.summary,  # noqa: SLF001
        "state": result.state, "params": result.params,
        **{f"price_{k}": v for k, v in result._prices.items()},  # noqa: SLF001
    }
    if result._splits is not None:  # noqa: SLF001
        arrays["splits"] = result._splits  # noqa: SLF001
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, **arrays)  # no object arrays: nothing is pickled, and load refuses pickles
    return out


def load_result(path: str | Path) -> Result:
    """The result that :func:`save_result` wrote to ``path``."""
    from backgrid.engine.result import Result  # noqa: PLC0415  # the class imports this module

    source = Path(path)
    try:
        with np.load(source, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        msg = f"{source} is not a result file that backgrid wrote ({exc})"
        raise ResultFileError(msg) from exc
    try:
        meta = json.loads(arrays.pop("meta").tobytes())
    except (KeyError, ValueError) as exc:
        msg = f"{source} has no readable 'meta' entry: it is not a result file that backgrid wrote"
        raise ResultFileError(msg) from exc
    if meta.get("format") not in _READS:
        msg = f"{source} holds the layout {meta.get('format')!r}; this backgrid reads {' and '.join(map(repr, _READS))}"
        raise ResultFileError(msg)
    times = arrays["index"] if "index" in arrays else np.asarray(meta["index"], dtype=np.int64)  # layout 1
    calendar = meta["calendar"]
    calendar["weekdays"] = tuple(calendar["weekdays"])
    return Result(trades=arrays["trades"], equity=np.asfortranarray(arrays["equity"]), summary=arrays["summary"],
                  state=arrays["state"], index=pd.DatetimeIndex(times.view("datetime64[ns]"),
                                                                name=meta["index_name"]).tz_localize("UTC"),
                  labels=_columns(meta["labels"]), params=arrays["params"],
                  prices={k: arrays[f"price_{k}"] for k in _PRICES}, calendar=Calendar(**calendar),
                  bar_ns=int(meta["bar_ns"]), assets=meta["assets"], periods_per_year=meta["periods_per_year"],
                  orders=arrays["orders"], config=None if meta["config"] is None else EngineConfig.from_dict(
                      meta["config"]), warnings=meta["warnings"], splits=arrays.get("splits"))
