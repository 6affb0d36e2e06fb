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
    "research": "backgrid.charts.trials draws optimisation trials with plotly",
    "test": "the test suite, ruff and mypy",
    "bench": "python -m benchmarks",
}


def test_every_extra_is_used():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = set(project["optional-dependencies"])
    assert extras <= set(USED_BY), f"extras that install packages no code uses: {sorted(extras - set(USED_BY))}"


def test_the_polars_extra_is_what_frames_accept():
    frames = (ROOT / "src" / "backgrid" / "data" / "frames.py").read_text(encoding="utf-8")
    assert re.search(r'module == "polars"', frames)


def test_the_research_extra_is_what_the_trial_charts_import():
    trials = (ROOT / "src" / "backgrid" / "charts" / "trials.py").read_text(encoding="utf-8")
    assert re.search(r"^import plotly\.graph_objects as go$", trials, re.MULTILINE)
