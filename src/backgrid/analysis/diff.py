"""Why two runs differ: documents, settings, data and versions, the first bar they part, trades and statistics.

A run is a folder that ``backgrid run --out`` wrote (``run.json``, ``result.npz``, ``strategy.yaml``).
:func:`diff_runs` reads two and never runs the engine. It compares:

* the strategy documents, path by path (``parameters[0].default: 10 -> 20``), the engine settings option by
  option, each series' data fingerprint, and the versions that made them;
* the first bar where the positions held at a close differ (side or units, per symbol), and, when both
  documents can be compiled on their data again (the store still holds bars with the fingerprints the runs
  recorded), the first bar where a signal differs, with every indicator's value at that bar in both runs;
* trades matched one to one by symbol, side and entry time: identical, changed (which fields), or only in
  one run;
* every statistic side by side, with B - A.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from backgrid.engine.result import Result
from backgrid.errors import AnalysisError, BackgridError, ResultFileError
from backgrid.strategy.document import load
from backgrid.strategy.manifest import compile_again, json_value, read_manifest

if TYPE_CHECKING:
    from backgrid.strategy.spec import Strategy

__all__ = ["Divergence", "RunDiff", "diff_runs", "document_diff"]

#: trade fields compared between matched trades
TRADE_FIELDS = ("exit_time", "size", "entry_price", "exit_price", "pnl", "exit_reason")
#: rows of each list shown in text (the JSON form keeps all)
SHOWN = 10


@dataclass(frozen=True)
class Divergence:
    """The first bar where two runs part: its position and time, what each held or signalled there."""

    bar: int
    time: pd.Timestamp
    what: str                                   # "positions" or "signals"
    a: dict[str, Any]                           # per symbol or signal: the value in run A
    b: dict[str, Any]
    indicators: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # name -> (A, B) at that bar

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {"bar": self.bar, "time": self.time.isoformat(), "what": self.what, "a": self.a, "b": self.b,
                "indicators": {k: list(v) for k, v in self.indicators.items()}}


@dataclass(frozen=True)
class RunDiff:
    """What :func:`diff_runs` found (see the module docstring); ``render()`` says it in text."""

    a: str
    b: str
    document: list[tuple[str, Any, Any]]
    config: list[tuple[str, Any, Any]]
    data: list[dict[str, Any]]
    versions: list[tuple[str, Any, Any]]
    positions: Divergence | None
    signals: Divergence | None
    signals_note: str | None
    trades: dict[str, Any]
    stats: pd.DataFrame

    @property
    def same(self) -> bool:
        """True when nothing that makes a run differs and the runs agree bar for bar."""
        return (not self.document and not self.config and all(d["same"] for d in self.data)
                and self.positions is None and self.signals is None and not self.trades["changed"]
                and not self.trades["only_a"] and not self.trades["only_b"])

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (every row, not only those :meth:`render` shows)."""
        return {
            "a": self.a, "b": self.b, "same": self.same,
            "document": [{"path": p, "a": x, "b": y} for p, x, y in self.document],
            "config": [{"option": o, "a": x, "b": y} for o, x, y in self.config],
            "data": self.data, "versions": [{"name": n, "a": x, "b": y} for n, x, y in self.versions],
            "positions": None if self.positions is None else self.positions.to_dict(),
            "signals": None if self.signals is None else self.signals.to_dict(), "signals_note": self.signals_note,
            "trades": self.trades,
            "stats": [{"metric": k, "a": json_value(r["a"]), "b": json_value(r["b"]),
                       "difference": json_value(r["difference"])} for k, r in self.stats.iterrows()],
        }

    def render(self) -> str:
        """The differences in lines of at most 80 characters."""
        return "\n".join(_render(self)) + "\n"


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf of a document with its path (``exits.stop_loss.percent``, ``parameters[0].default``)."""
    if isinstance(value, Mapping):
        for key in value:
            yield from _walk(value[key], f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}[{i}]")
    else:
        yield path, value


def document_diff(a: Strategy, b: Strategy) -> list[tuple[str, Any, Any]]:
    """Every path where two documents differ, with A's and B's value (``None`` where a path is absent)."""
    left, right = dict(_walk(a.to_dict())), dict(_walk(b.to_dict()))
    return [(p, left.get(p), right.get(p)) for p in sorted(left.keys() | right.keys()) if left.get(p) != right.get(p)]


def _mapping_diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    return [(k, a.get(k), b.get(k)) for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)]


def _data_diff(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[dict[str, Any]]:
    left = {(d["symbol"], d["timeframe"]): d for d in a}
    right = {(d["symbol"], d["timeframe"]): d for d in b}
    rows = []
    for key in sorted(left.keys() | right.keys()):
        x, y = left.get(key), right.get(key)
        rows.append({"symbol": key[0], "timeframe": key[1], "a": None if x is None else x["fingerprint"],
                     "b": None if y is None else y["fingerprint"],
                     "same": x is not None and y is not None and x["fingerprint"] == y["fingerprint"],
                     "bars": (None if x is None else x["bars"], None if y is None else y["bars"])})
    return rows


class _Run:
    """One run folder: its manifest, result and document."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.manifest = read_manifest(self.folder)
        stored = self.folder / "result.npz"
        if not stored.is_file():
            msg = f"{self.folder} has no result.npz: run it again with --out to write one"
            raise ResultFileError(msg)
        self.result = Result.load(stored)
        self.strategy = load(self.folder / self.manifest["strategy"]["file"])


def _first_difference(a: np.ndarray, b: np.ndarray) -> int | None:
    """The first row where two equally long arrays differ (NaN equals NaN), or None."""
    differ = ~((a == b) | (np.isnan(a) & np.isnan(b))) if a.dtype.kind == "f" else a != b
    rows = np.flatnonzero(differ.reshape(differ.shape[0], -1).any(axis=1))
    return int(rows[0]) if rows.size else None


def _positions(a: Result, b: Result) -> Divergence | None:
    if not a.index.equals(b.index):
        return None  # other bars: the data comparison says so
    held_a, held_b = a.positions(), b.positions()
    if list(held_a.columns) != list(held_b.columns):
        return None
    bar = _first_difference(held_a.to_numpy(), held_b.to_numpy())
    if bar is None:
        return None
    return Divergence(bar, a.index[bar], "positions", {str(k): float(v) for k, v in held_a.iloc[bar].items()},
                      {str(k): float(v) for k, v in held_b.iloc[bar].items()})


def _compiled_signals(run: _Run) -> tuple[dict[str, np.ndarray], Any]:
    """The run's signals compiled again on its data, and the bars; AnalysisError when the data changed."""
    compiled, changed = compile_again(run.strategy, run.manifest)
    if changed:
        msg = (f"the store's {', '.join(changed)} {run.strategy.market.timeframe} is not the data {run.folder} "
               "ran on (its fingerprint changed)")
        raise AnalysisError(msg)
    signals = {name: np.asarray(value).reshape(len(compiled.data), -1) for name, value in compiled.kwargs.items()
               if name in ("entries", "exits", "short_entries", "short_exits")}
    return signals, compiled.data


def _indicator_values(strategy: Strategy, bars: Any, bar: int) -> dict[str, Any]:
    from backgrid.strategy.compiler import parameter_sets  # noqa: PLC0415
    from backgrid.strategy.evaluate import Evaluator, IndicatorCache  # noqa: PLC0415

    evaluator = Evaluator(strategy, IndicatorCache(bars), parameter_sets(strategy)[0])
    values = {}
    for name in strategy.indicators:
        outputs, _, _ = evaluator.indicator(name)
        for output, series in outputs.items():
            key = name if len(outputs) == 1 else f"{name}.{output}"
            values[key] = json_value(float(np.asarray(series)[bar]))
    return values


def _signals(a: _Run, b: _Run) -> tuple[Divergence | None, str | None]:
    if len(a.manifest["data"]) != 1 or len(b.manifest["data"]) != 1:
        return None, "signals are compared for single-symbol runs; positions above cover portfolios"
    try:
        (sig_a, bars_a), (sig_b, bars_b) = _compiled_signals(a), _compiled_signals(b)
    except BackgridError as exc:  # the data is gone or changed: positions and trades still say where they part
        return None, f"signals not compared: {exc}"
    if len(bars_a) != len(bars_b) or not np.array_equal(bars_a.ts, bars_b.ts):
        return None, "signals not compared: the runs have other bars"
    names = sorted(sig_a.keys() | sig_b.keys())
    n = len(bars_a)
    none = np.zeros((n, 1), dtype=bool)
    stacked_a = np.hstack([sig_a.get(k, none) for k in names])
    stacked_b = np.hstack([sig_b.get(k, none) for k in names])
    bar = _first_difference(stacked_a, stacked_b)
    if bar is None:
        return None, None
    left, right = _indicator_values(a.strategy, bars_a, bar), _indicator_values(b.strategy, bars_b, bar)
    indicators = {k: (left.get(k), right.get(k)) for k in sorted(left.keys() | right.keys())}
    return Divergence(bar, bars_a.index[bar], "signals", {k: bool(sig_a.get(k, none)[bar].any()) for k in names},
                      {k: bool(sig_b.get(k, none)[bar].any()) for k in names}, indicators), None


def _trades(a: Result, b: Result) -> dict[str, Any]:
    """Trades matched by (symbol, side, entry time): the n-th of a key in A with the n-th in B."""
    def keyed(result: Result) -> pd.DataFrame:
        t = result.trades.copy()
        if "symbol" not in t:
            t["symbol"] = ""
        t["nth"] = t.groupby(["symbol", "side", "entry_time"]).cumcount()
        return t.set_index(["symbol", "side", "entry_time", "nth"])

    left, right = keyed(a), keyed(b)
    common = left.index.intersection(right.index, sort=False)
    changed = []
    for key in common:
        x, y = left.loc[key], right.loc[key]
        fields = [f for f in TRADE_FIELDS if x[f] != y[f]]
        if fields:
            changed.append({"symbol": key[0], "side": key[1], "entry_time": key[2].isoformat(), "fields": fields,
                            "a": {f: json_value(x[f]) if f != "exit_time" else x[f].isoformat() for f in fields},
                            "b": {f: json_value(y[f]) if f != "exit_time" else y[f].isoformat() for f in fields}})

    def only(frame: pd.DataFrame, keys: pd.Index) -> list[dict[str, Any]]:
        return [{"symbol": k[0], "side": k[1], "entry_time": k[2].isoformat(),
                 "pnl": json_value(frame.loc[k, "pnl"])} for k in keys]

    return {"a": len(left), "b": len(right), "matched": len(common), "identical": len(common) - len(changed),
            "changed": changed, "only_a": only(left, left.index.difference(right.index, sort=False)),
            "only_b": only(right, right.index.difference(left.index, sort=False))}


def _stats(a: Result, b: Result) -> pd.DataFrame:
    left, right = a.stats, b.stats
    frame = pd.DataFrame({"a": left, "b": right})
    frame["difference"] = [y - x if isinstance(x, int | float) and isinstance(y, int | float) else None
                           for x, y in zip(frame["a"], frame["b"], strict=True)]
    return frame


def diff_runs(a: str | Path, b: str | Path) -> RunDiff:
    """Compare the run folders ``a`` and ``b`` (see the module docstring).

    A folder without ``run.json`` or ``result.npz`` (written before they existed) is a
    :class:`~backgrid.errors.ResultFileError` that says to run it again.
    """
    left, right = _Run(a), _Run(b)
    ma, mb = left.manifest, right.manifest
    signals, note = _signals(left, right)
    return RunDiff(
        a=str(a), b=str(b),
        document=document_diff(left.strategy, right.strategy),
        config=_mapping_diff(ma["config"]["options"] or {}, mb["config"]["options"] or {}),
        data=_data_diff(ma["data"], mb["data"]),
        versions=_mapping_diff(ma["versions"], mb["versions"]),
        positions=_positions(left.result, right.result),
        signals=signals, signals_note=note,
        trades=_trades(left.result, right.result),
        stats=_stats(left.result, right.result),
    )


# --- text ---------------------------------------------------------------------------------------------------------

def _short(value: Any, width: int = 24) -> str:
    text = "-" if value is None else f"{value:.6g}" if isinstance(value, float) else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _pairs(title: str, rows: list[tuple[str, Any, Any]], same: str) -> Iterator[str]:
    if not rows:
        yield f"{title}: {same}"
        return
    yield f"{title}: {len(rows)} difference(s)"
    for name, x, y in rows[:SHOWN]:
        yield f"  {_short(name, 36):<36} {_short(x, 18):>18} -> {_short(y, 18)}"
    if len(rows) > SHOWN:
        yield f"  ... and {len(rows) - SHOWN} more (--json lists all)"


def _divergence(d: Divergence) -> Iterator[str]:
    yield f"first bar where the {d.what} differ: bar {d.bar:,} ({d.time:%Y-%m-%d %H:%M})"
    for key in d.a:
        if d.a[key] != d.b.get(key):
            yield f"  {_short(key, 36):<36} {_short(d.a[key], 18):>18} -> {_short(d.b.get(key), 18)}"
    if d.indicators:
        yield "  indicators at that bar (A -> B):"
        for name, (x, y) in list(d.indicators.items())[:SHOWN]:
            yield f"    {_short(name, 34):<34} {_short(x, 18):>18} -> {_short(y, 18)}"


def _render(d: RunDiff) -> Iterator[str]:
    yield f"A: {d.a}"
    yield f"B: {d.b}"
    yield "the runs are the same" if d.same else "the runs differ"
    yield from _pairs("strategy document", d.document, "same")
    yield from _pairs("engine settings", d.config, "same")
    for row in d.data:
        state = "same data" if row["same"] else "OTHER DATA"
        yield (f"data {row['symbol']} {row['timeframe']}: {state} "
               f"({_short(row['a'], 12)} / {_short(row['b'], 12)}, bars {row['bars'][0]} / {row['bars'][1]})")
    yield from _pairs("versions", d.versions, "same")
    if d.positions is not None:
        yield from _divergence(d.positions)
    else:
        yield "positions: the same at every close"
    if d.signals is not None:
        yield from _divergence(d.signals)
    elif d.signals_note:
        yield d.signals_note
    else:
        yield "signals: the same at every bar"
    t = d.trades
    yield f"trades: A {t['a']}, B {t['b']}; only in A {len(t['only_a'])}, only in B {len(t['only_b'])}"
    yield f"  matched {t['matched']}: {t['identical']} identical, {len(t['changed'])} changed"
    for row in t["changed"][:SHOWN]:
        yield f"  {row['entry_time'][:16]} {row['side']:<5} changed: {', '.join(row['fields'])}"
    yield "statistics:"
    yield f"  {'metric':<28} {'A':>15} {'B':>15} {'B - A':>15}"
    for name, x, y, change in d.stats[["a", "b", "difference"]].itertuples():
        yield (f"  {_short(name, 28):<28} {_short(json_value(x), 15):>15} {_short(json_value(y), 15):>15} "
               f"{_short(json_value(change), 15):>15}")
