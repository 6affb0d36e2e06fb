"""A study on disk: what it searches, and every trial evaluated so far, so that a stopped study resumes.

A study folder holds ``study.json`` (the strategy, data, space, method, objectives, constraints and seed it
was started with) and the trials: grid and random searches append one Parquet file per batch under
``trials/``; Optuna's samplers keep their trials in Optuna's storage, a journal file ``optuna.journal`` in the
folder (embedded), or a database URL (PostgreSQL, scaled out). Resuming a study with other settings is an
error that names what differs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backgrid.data.bars import Bars, MultiBars
from backgrid.errors import StudyMismatchError

__all__ = ["StudyFolder", "data_key", "fingerprint"]


def fingerprint(value: Any) -> str:
    """A short sha256 of a JSON-able description."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def data_key(data: Bars | MultiBars | Mapping[str, Bars]) -> str:
    """The data's identity: symbols, timeframe, range, bar count and a hash of the prices."""
    frames = {data.symbol: data} if isinstance(data, Bars) else dict(data.items())
    parts = []
    digest = hashlib.sha256()
    for symbol, bars in sorted(frames.items()):
        ts = bars.ts
        parts.append(f"{symbol}/{bars.timeframe}/{len(bars)}" + (f"/{ts[0]}-{ts[-1]}" if len(bars) else ""))
        for name in ("ts", "open", "high", "low", "close"):
            digest.update(np.ascontiguousarray(getattr(bars, name)).tobytes())
    return ",".join(parts) + "#" + digest.hexdigest()[:12]


class StudyFolder:
    """The files of one study (see the module docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()

    @property
    def spec_file(self) -> Path:
        """``study.json``."""
        return self.path / "study.json"

    @property
    def journal(self) -> Path:
        """Optuna's journal file."""
        return self.path / "optuna.journal"

    def open(self, spec: dict[str, Any], *, resume: bool) -> bool:
        """Create the folder for ``spec``, or check that the study there was started with it.

        Returns whether an earlier study is being resumed. ``resume=False`` starts afresh (earlier trials
        are removed).
        """
        if self.spec_file.exists() and resume:
            earlier = json.loads(self.spec_file.read_text())
            differs = sorted(k for k in set(spec) | set(earlier) if spec.get(k) != earlier.get(k))
            if differs:
                msg = (f"the study in {self.path} was started with other settings ({', '.join(differs)} differ); "
                       "resume it with the same ones, or start afresh (--fresh, resume=False) or in another folder")
                raise StudyMismatchError(msg)
            return True
        if self.path.exists():
            for old in (*self.path.glob("trials/*.parquet"), self.journal, self.spec_file):
                old.unlink(missing_ok=True)
        (self.path / "trials").mkdir(parents=True, exist_ok=True)
        temporary = self.spec_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(spec, indent=2, sort_keys=True) + "\n")
        temporary.replace(self.spec_file)
        return False

    def append(self, batch: pd.DataFrame) -> None:
        """Keep a batch of evaluated trials (written whole, then renamed: a killed run leaves no half file)."""
        number = len(list((self.path / "trials").glob("batch-*.parquet")))
        final = self.path / "trials" / f"batch-{number:06d}.parquet"
        temporary = final.with_suffix(".tmp")
        batch.to_parquet(temporary)
        temporary.replace(final)

    def trials(self) -> pd.DataFrame | None:
        """Every trial kept so far, by trial number (None before the first batch)."""
        files = sorted((self.path / "trials").glob("batch-*.parquet"))
        if not files:
            return None
        return pd.concat([pd.read_parquet(f) for f in files]).sort_index()
