"""``backgrid run`` on data the store lacks: it asks on a terminal, fetches with --fetch, else names the command."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from backgrid.cli import fetching
from backgrid.cli.main import app
from backgrid.data.providers import chain as chain_module
from backgrid.data.providers.base import vendor_bars
from backgrid.data.providers.chain import PROVIDERS, ProviderSpec
from backgrid.data.providers.limits import Limit
from backgrid.data.store import DataStore

if TYPE_CHECKING:
    from pathlib import Path

runner = CliRunner(env={"COLUMNS": "200"})
T0 = pd.Timestamp("2024-01-01", tz="UTC")
#: every request the fake vendor was sent, as (start, end)
asked: list[tuple[pd.Timestamp | None, pd.Timestamp | None]] = []


class FakeEquities:
    """Daily bars of days [0, 200) from 2024-01-01, close 100 + day (a rising line: the strategy trades)."""

    def __init__(self):
        self.name = "fakeq"

    def fetch(self, symbol, timeframe, *, start=None, end=None):
        asked.append((start, end))
        days = np.arange(200)
        close = 100.0 + days + np.sin(days / 3.0) * 5  # waves, so that the averages cross
        frame = pd.DataFrame({"open": close, "high": close + 1, "low": close - 1, "close": close, "volume": 5.0},
                             index=T0 + pd.to_timedelta(days, unit="D"))
        return vendor_bars(frame, provider=self.name, symbol=symbol, timeframe=timeframe, start=start, end=end,
                           calendar="crypto")


@pytest.fixture(autouse=True)
def fake_registry(monkeypatch):
    monkeypatch.setitem(PROVIDERS, "fakeq", ProviderSpec("fakeq", (f"{__name__}:FakeEquities",), "json",
                                                         ("equity",), Limit(100, 10)))
    monkeypatch.setitem(chain_module.DEFAULT_CHAINS, "equity", ("fakeq",))
    asked.clear()


@pytest.fixture
def strategy_file(tmp_path: Path) -> Path:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({
        "schema_version": 3, "name": "t", "market": {"symbols": ["ACME"], "timeframe": "1d"},
        "indicators": {"fast": {"id": "sma", "params": {"period": 5}}},
        "entries": {"long": {"crosses_above": ["close", "fast"]}},
        "exits": {"long": {"crosses_below": ["close", "fast"]}}}), encoding="utf-8")
    return path


def invoke(*args, input=None):  # noqa: A002  # CliRunner's name
    result = runner.invoke(app, [str(a) for a in args], input=input)
    return result, re.sub(r"\s+", " ", result.output)


def day(text):
    return pd.Timestamp(text, tz="UTC")


def test_in_a_pipe_a_missing_symbol_is_an_error_naming_the_fetch_command(strategy_file):
    result, text = invoke("run", strategy_file, "--from", "2024-02-01", "--to", "2024-03-01")
    assert result.exit_code == 1
    assert "'ACME' 1d is not in the store" in text
    assert ("fetch it with `backgrid data fetch ACME --asset-class equity --timeframe 1d --from 2024-02-01 "
            "--to 2024-03-01` or run again with --fetch, or import it with `backgrid data import`") in text
    assert asked == []


def test_fetch_fetches_the_range_through_the_chain_stores_it_and_runs(strategy_file):
    result, text = invoke("run", strategy_file, "--from", "2024-02-01", "--to", "2024-03-01", "--fetch")
    assert result.exit_code == 0, text
    assert asked == [(day("2024-02-01"), day("2024-03-01"))]
    assert "29 bars from 2024-02-01 to 2024-02-29" in text  # February 2024 has 29 days
    info = DataStore().info("ACME", "1d")
    assert (info.source, info.rows, [e.vendor for e in info.lineage]) == ("equity", 29, ["fakeq"])


def test_a_range_the_store_lacks_is_backfilled_piece_by_piece(strategy_file):
    invoke("run", strategy_file, "--from", "2024-02-01", "--to", "2024-03-01", "--fetch")
    asked.clear()
    result, text = invoke("run", strategy_file, "--from", "2024-01-15", "--to", "2024-03-15", "--fetch")
    assert result.exit_code == 0, text
    # only the two missing pieces: before the stored 1 February, and from 1 March (the day after the last bar)
    assert asked == [(day("2024-01-15"), day("2024-02-01")), (day("2024-03-01"), day("2024-03-15"))]
    assert "60 bars from 2024-01-15 to 2024-03-14" in text  # 17 + 29 + 14 days
    asked.clear()
    assert invoke("run", strategy_file, "--from", "2024-01-20", "--to", "2024-03-10", "--fetch")[0].exit_code == 0
    assert asked == []  # all stored: nothing asked


def test_on_a_terminal_the_user_is_asked(strategy_file, monkeypatch):
    monkeypatch.setattr(fetching, "interactive", lambda: True)
    result, text = invoke("run", strategy_file, "--to", "2024-03-01", input="n\n")
    assert result.exit_code == 1
    assert "ACME 1d is not in the store; fetch it from equity (fakeq)? [y/N]" in text
    assert "or run again with --fetch" in text
    assert asked == []
    result, text = invoke("run", strategy_file, "--to", "2024-03-01", input="y\n")
    assert result.exit_code == 0, text
    assert asked == [(None, day("2024-03-01"))]
    assert "60 bars from 2024-01-01 to 2024-02-29" in text  # 31 + 29 days


def test_a_source_that_is_no_vendor_keeps_the_import_advice(strategy_file):
    result, text = invoke("run", strategy_file, "--source", "csv", "--fetch")
    assert result.exit_code == 1
    assert "import it with `backgrid data import`" in text
    assert asked == []
