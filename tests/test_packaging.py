"""What installing backgrid brings: each extra installs something the code or its tooling uses."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: extras and what uses them; a new extra lands with the code that imports it
USED_BY = {
    "polars": "backgrid.data.frames accepts polars frames",
    "talib": "the TA-Lib functions the indicators name as their reference (IndicatorSpec.talib)",
    "test": "the test suite, ruff and mypy",
    "bench": "python -m benchmarks",
    "research": "backgrid.optimize's cmaes and qmc methods (Optuna's CmaEsSampler and QMCSampler)",
    "dask": "backgrid.optimize.fanout on a Dask cluster (--cluster)",
    "analysis": "backgrid.analysis.regimes_hmm (hmmlearn's GaussianHMM)",
    "pdf": "backgrid.report.pdf (WeasyPrint)",
    "postgres": "Optuna's RDB storage and the trial ledger on PostgreSQL (tests/optimize/test_postgres.py)",
    "scaled": "backgrid.service.jobs.scaled (procrastinate on the store's PostgreSQL)",
    "yfinance": "backgrid.data.providers.yahoo",
    "ccxt": "backgrid.data.providers.ccxt",
    "alpaca": "backgrid.data.providers.alpaca",
    "polygon": "backgrid.data.providers.polygon (the massive client)",
    "cryptocompare": "backgrid.data.providers.cryptocompare (httpx)",
    "providers": "every vendor adapter at once",
}


def test_every_extra_is_used():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = set(project["optional-dependencies"])
    assert extras <= set(USED_BY), f"extras that install packages no code uses: {sorted(extras - set(USED_BY))}"


def test_the_polars_extra_is_what_frames_accept():
    frames = (ROOT / "src" / "backgrid" / "data" / "frames.py").read_text(encoding="utf-8")
    assert re.search(r'module == "polars"', frames)


def test_the_scaled_out_extras_are_what_the_optimiser_imports():
    fanout = (ROOT / "src" / "backgrid" / "optimize" / "fanout.py").read_text(encoding="utf-8")
    assert "from distributed import Client" in fanout
    postgres = (ROOT / "tests" / "optimize" / "test_postgres.py").read_text(encoding="utf-8")
    assert "postgresql+psycopg://" in postgres
    search = (ROOT / "src" / "backgrid" / "optimize" / "search.py").read_text(encoding="utf-8")
    assert "CmaEsSampler" in search
    assert "QMCSampler" in search


def test_the_scaled_extra_is_what_the_service_imports():
    scaled = (ROOT / "src" / "backgrid" / "service" / "jobs" / "scaled.py").read_text(encoding="utf-8")
    assert "import procrastinate" in scaled
    assert "procrastinate" in tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
        "project"]["optional-dependencies"]["scaled"][1]
