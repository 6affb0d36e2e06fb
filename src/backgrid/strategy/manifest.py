"""``run.json``: what a run folder holds and what made it — the identities a run diff and the service compare.

A manifest is plain JSON (keys sorted, floats written exactly, NaN as ``null``)::

    format        "backgrid-run/1"
    created       UTC time the run was written (ISO 8601)
    versions      backgrid, python, numpy, numba, pandas
    strategy      name, schema_version, fingerprint (sha256 of the canonical document), file
    config        fingerprint (the engine settings' identity) and options (every setting)
    data          per symbol: timeframe, source, adjustment, bars, first and last bar (ISO), fingerprint
                  (sha256 of the bars, equal to the store's checksum)
    run           bars, warm-up, parameter sets, the sweep's grid and the chosen set, seed (none: the engine
                  draws no random numbers)
    stats         the chosen set's statistics, by metric key
    files         sha256 of every file the run wrote, by name

Two runs with equal strategy, config and data fingerprints and equal versions give bit-identical results.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import platform
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from backgrid._version import __version__
from backgrid.data.bars import Bars, MultiBars
from backgrid.errors import ResultFileError

if TYPE_CHECKING:
    from backgrid.data.store import DataStore
    from backgrid.engine.result import Result
    from backgrid.strategy.compiler import Compiled
    from backgrid.strategy.spec import Strategy

__all__ = ["FORMAT", "MANIFEST", "build_manifest", "compile_again", "file_digest", "json_value", "read_manifest",
           "write_manifest"]

#: the layout of ``run.json``
FORMAT = "backgrid-run/1"
#: the manifest's file name in a run folder
MANIFEST = "run.json"


def json_value(value: Any) -> Any:
    """A value as JSON writes it: numpy scalars as Python ones, NaN and infinities as ``None``."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def file_digest(path: Path) -> str:
    """The sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _data(data: Bars | MultiBars) -> list[dict[str, Any]]:
    series = [data] if isinstance(data, Bars) else [data[s] for s in data]
    return [{"symbol": b.symbol, "timeframe": b.timeframe.code, "source": b.source, "adjustment": b.adjustment,
             "synthetic": bool(b.synthetic), "bars": len(b),
             "first": pd.Timestamp(int(b.ts[0]), tz="UTC").isoformat() if len(b) else None,
             "last": pd.Timestamp(int(b.ts[-1]), tz="UTC").isoformat() if len(b) else None,
             "fingerprint": b.fingerprint()} for b in series]


@functools.cache
def _versions() -> dict[str, str]:
    """What gave the numbers (read once: a package's metadata costs about 0.4 ms each time)."""
    return {"backgrid": __version__, "python": platform.python_version(),
            **{name: version(name) for name in ("numpy", "numba", "pandas")}}


def build_manifest(compiled: Compiled, result: Result, *, document: Strategy | None = None,
                   grid: Mapping[str, Sequence[Any]] | None = None,
                   chosen: Mapping[str, Any] | None = None, stats: pd.Series | None = None,
                   files: Sequence[Path] = (), created: datetime | None = None) -> dict[str, Any]:
    """The manifest of a run of ``compiled`` that gave ``result``.

    ``document`` is the strategy the folder's ``strategy.yaml`` holds (default: the compiled one; a sweep's
    folder holds the chosen set as the parameters' defaults), ``grid`` is the sweep (name -> values),
    ``chosen`` the parameter set the folder's single-set files describe, ``stats`` its statistics (default:
    the result's, for one set), ``files`` the files written beside it.
    """
    spec = document if document is not None else compiled.strategy
    config = result.config
    picked = stats if stats is not None else (result.stats if result.single else None)
    return {
        "format": FORMAT,
        "created": (created or datetime.now(UTC)).isoformat(),
        "versions": dict(_versions()),  # a copy: the cached one stays as read
        "strategy": {"name": spec.name, "schema_version": spec.schema_version, "fingerprint": spec.fingerprint(),
                     "file": "strategy.yaml"},
        "config": {"fingerprint": None if config is None else config.fingerprint,
                   "options": None if config is None else {k: json_value(v) for k, v in config.to_dict().items()}},
        "data": _data(compiled.data),
        "run": {"bars": int(result.index.size), "warmup": int(compiled.warmup),
                "parameter_sets": len(compiled.parameter_sets),
                "grid": {k: [json_value(v) for v in values] for k, values in (grid or {}).items()},
                "chosen": {k: json_value(v) for k, v in (chosen or {}).items()}, "seed": None},
        "stats": None if picked is None else {str(k): json_value(v) for k, v in picked.items()},
        "files": {path.name: file_digest(path) for path in files},
    }


def write_manifest(folder: str | Path, manifest: Mapping[str, Any]) -> Path:
    """Write ``manifest`` as ``folder/run.json`` and return the path."""
    path = Path(folder) / MANIFEST
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True, allow_nan=False) + "\n", encoding="utf-8")
    return path


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The manifest of a run folder; a clear error for a folder without one or another layout."""
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        msg = (f"{folder} has no {MANIFEST}: it is not a run folder, or it was written before manifests existed "
               "(run it again with --out)")
        raise ResultFileError(msg) from None
    except (OSError, ValueError) as exc:
        msg = f"{path} cannot be read as a run manifest: {exc}"
        raise ResultFileError(msg) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        msg = f"{path} holds the layout {found!r}; this backgrid reads {FORMAT!r}"
        raise ResultFileError(msg)
    return manifest


def compile_again(strategy: Strategy, manifest: Mapping[str, Any],
                  store: DataStore | None = None) -> tuple[Compiled, list[str]]:
    """``strategy`` compiled again on the store's bars over its document's range, and the symbols whose bars
    are not the ones ``manifest`` recorded (their fingerprint changed, or the run did not record them).

    This is how a diff or a report of a run folder reads the run's data without running the engine;
    ``store`` is where the bars are read (default: the local store).
    """
    from backgrid.strategy.compiler import compile_strategy  # noqa: PLC0415  # the compiler imports analysis
    from backgrid.strategy.market import market_data  # noqa: PLC0415

    compiled = compile_strategy(strategy, market_data(strategy, store))
    recorded = {(d["symbol"], d["timeframe"]): d["fingerprint"] for d in manifest["data"]}
    bars = compiled.data
    series = [bars] if isinstance(bars, Bars) else [bars[symbol] for symbol in bars]
    changed = [b.symbol for b in series if recorded.get((b.symbol, b.timeframe.code)) != b.fingerprint()]
    return compiled, changed
