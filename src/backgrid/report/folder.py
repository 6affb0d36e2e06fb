"""The tear sheet of a run folder (what ``backgrid run --out`` wrote), with its insights and market regimes.

:func:`report_run` reads ``result.npz``, ``run.json`` and ``strategy.yaml``; it never runs the engine. The
regime table is the trend regime (:func:`backgrid.analysis.trend_regime`, its defaults) of the bars the run
used, when the store still holds them with the fingerprint ``run.json`` recorded (one symbol); otherwise the
page goes without it and the returned note says why. The footer carries the manifest's fingerprints.

The benchmark is the run's buy and hold, or a stored series (``benchmark="SPY"``: its closes at the run's
timeframe, from the store), which the equity chart draws and the benchmark insight compares with
(:func:`backgrid.analysis.benchmark_stats`: alpha, beta, information ratio, captures over the bars it covers).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from backgrid.analysis import benchmark_stats, insights, regime_stats, trend_regime
from backgrid.data.bars import Bars
from backgrid.engine.result import Result
from backgrid.errors import BackgridError, ResultFileError
from backgrid.report.tearsheet import tear_sheet
from backgrid.strategy.document import load
from backgrid.strategy.manifest import compile_again, read_manifest

if TYPE_CHECKING:
    from backgrid.data.store import DataStore

__all__ = ["Written", "footer", "report_run"]


@dataclass(frozen=True)
class Written:
    """What :func:`report_run` wrote, and why a part was left out (``None``: nothing was)."""

    path: Path
    note: str | None


def footer(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The tear sheet's reproducibility fields (:data:`~backgrid.report.MANIFEST_KEYS`) from a ``run.json``."""
    data = manifest.get("data") or []
    return {"document_hash": manifest["strategy"]["fingerprint"],
            "data_hash": ", ".join(f"{d['symbol']} {d['timeframe']} {d['fingerprint']}" for d in data) or None,
            "config_hash": manifest["config"]["fingerprint"], "engine_version": manifest["versions"]["backgrid"],
            "seed": manifest["run"]["seed"] if manifest["run"]["seed"] is not None else "none (no randomness)",
            "run_written": manifest["created"]}


def _regimes(folder: Path, manifest: Mapping[str, Any], result: Result,
             store: DataStore | None) -> tuple[pd.DataFrame | None, str | None]:
    """The trend regime table of the run's bars, or why there is none."""
    if len(manifest["data"]) != 1:
        return None, "regimes are shown for single-symbol runs"
    try:
        compiled, changed = compile_again(load(folder / manifest["strategy"]["file"]), manifest, store)
    except BackgridError as exc:
        return None, f"regimes left out: the run's bars cannot be read ({exc})"
    if changed or not isinstance(compiled.data, Bars):
        return None, f"regimes left out: the store's {manifest['data'][0]['symbol']} is not the data the run used"
    return regime_stats(result, trend_regime(compiled.data)), None


def _stored_close(symbol: str, manifest: Mapping[str, Any], store: DataStore | None) -> pd.Series:
    """The closes of a stored series at the run's timeframe, on bar times."""
    from backgrid.data.store import DataStore  # noqa: PLC0415

    timeframe = manifest["data"][0]["timeframe"]
    bars = (store or DataStore()).read(symbol, timeframe)
    return pd.Series(bars.close, index=bars.index, name=symbol)


def report_run(folder: str | Path, path: str | Path | None = None, *, pdf: bool = False,
               plain: bool = False, benchmark: str | None = None, store: DataStore | None = None) -> Written:
    """Write the tear sheet of the run folder ``folder`` and return where (default ``folder/tear.html``).

    ``pdf`` writes ``tear.pdf`` instead (the ``pdf`` extra); ``path`` names the file (its suffix decides).
    ``plain`` writes the insights and the headline readings without jargon; ``benchmark`` names a stored
    symbol to compare with. ``store`` holds the run's bars and the benchmark (default: the local store).
    """
    run = Path(folder)
    manifest = read_manifest(run)
    stored = run / "result.npz"
    if not stored.is_file():
        msg = f"{run} has no result.npz: run it again with --out to write one"
        raise ResultFileError(msg)
    result = Result.load(stored)
    table, note = _regimes(run, manifest, result, store)
    strategy = manifest["strategy"]["name"]
    series = None if benchmark is None else _stored_close(benchmark, manifest, store)
    compared = None if series is None else benchmark_stats(result, series) | {"name": benchmark}
    found = insights(result, plain=plain, regimes=table, parameters=len(manifest["run"]["grid"]) or None,
                     benchmark=compared)
    out = Path(path) if path is not None else run / ("tear.pdf" if pdf else "tear.html")
    chosen = manifest["run"]["chosen"]
    title = strategy + (f" — {', '.join(f'{k}={v}' for k, v in chosen.items())}" if chosen else "")
    written = tear_sheet(result, out, title=title, benchmark=series, insights=found, regimes=table,
                         manifest=footer(manifest), plain=plain)
    return Written(Path(written), note)
