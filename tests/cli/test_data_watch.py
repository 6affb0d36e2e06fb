"""``backgrid data watch``, ``unwatch``, ``watched`` and ``refresh --watched`` with a fake vendor (no network)."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from backgrid.cli.main import app
from backgrid.data.providers import chain as chain_module
from backgrid.data.providers.base import vendor_bars
from backgrid.data.providers.chain import PROVIDERS, ProviderSpec
from backgrid.data.providers.limits import Limit
from backgrid.data.store import DataStore
from backgrid.errors import ProviderUnavailableError

runner = CliRunner(env={"COLUMNS": "80"})
T0 = pd.Timestamp("2024-01-01", tz="UTC")
#: hours the fake vendor serves, and whether it fails
SERVES = {"hours": 24, "down": 0}


class FakeVendor:
    """Hourly bars of hours [0, SERVES['hours']) of a line: close 100 + hour."""

    def __init__(self):
        self.name = "fakew"

    def fetch(self, symbol, timeframe, *, start=None, end=None):
        if SERVES["down"]:
            msg = "fakew: HTTP 503"
            raise ProviderUnavailableError(msg, provider=self.name)
        hours = np.arange(SERVES["hours"])
        close = 100.0 + hours
        frame = pd.DataFrame({"open": close, "high": close + 1, "low": close - 1, "close": close, "volume": 5.0},
                             index=T0 + pd.to_timedelta(hours, unit="h"))
        return vendor_bars(frame, provider=self.name, symbol=symbol, timeframe=timeframe, start=start, end=end,
                           calendar="crypto")


@pytest.fixture(autouse=True)
def fake_registry(monkeypatch):
    monkeypatch.setitem(PROVIDERS, "fakew", ProviderSpec("fakew", (f"{__name__}:FakeVendor",), "json", ("crypto",),
                                                         Limit(100, 10)))
    monkeypatch.setitem(chain_module.DEFAULT_CHAINS, "crypto", ("fakew",))
    monkeypatch.setitem(SERVES, "hours", 24)
    monkeypatch.setitem(SERVES, "down", 0)


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    return result, re.sub(r"\s+", " ", result.output)


def test_watch_then_list_as_a_table_and_as_json():
    result, text = invoke("data", "watch", "BTC/USDT", "--timeframe", "1h", "--ttl", "6h")
    assert result.exit_code == 0, text
    assert "watching BTC/USDT 1h from crypto, refreshed when older than 6h" in text
    invoke("data", "watch", "ETH/USDT", "-t", "1d", "-p", "fakew")
    result, text = invoke("data", "watched")
    assert result.exit_code == 0, text
    assert all(len(line) <= 80 for line in result.stdout.splitlines())
    assert "BTC/USDT 1h crypto 6h - - yes" in text  # nothing stored yet: due
    assert "ETH/USDT 1d fakew 1d - - yes" in text  # ttl: one bar
    result, _ = invoke("data", "watched", "--json")
    records = json.loads(result.stdout)
    assert [(r["symbol"], r["provider"], r["ttl_seconds"], r["due"]) for r in records] == [
        ("BTC/USDT", "crypto", 21_600, True), ("ETH/USDT", "fakew", 86_400, True)]


def test_refresh_watched_fetches_what_is_due_and_then_nothing():
    invoke("data", "watch", "BTC/USDT", "--timeframe", "1h", "--ttl", "6h")
    result, text = invoke("data", "refresh", "--watched")
    assert result.exit_code == 0, text
    assert "BTC/USDT 1h from crypto: +24 bar(s)" in text
    assert len(DataStore().read("BTC/USDT", "1h", source="crypto")) == 24
    SERVES["hours"] = 30
    result, text = invoke("data", "refresh", "--watched")
    assert "BTC/USDT 1h from crypto: fresh (ttl 6h)" in text  # refreshed a moment ago: not asked
    assert len(DataStore().read("BTC/USDT", "1h", source="crypto")) == 24
    result, text = invoke("data", "watched")
    assert "BTC/USDT 1h crypto 6h 24 2024-01-01 23:00 no" in text


def test_a_failing_vendor_exits_1_and_names_the_series():
    invoke("data", "watch", "BTC/USDT", "--timeframe", "1h")
    SERVES["down"] = 1
    result, text = invoke("data", "refresh", "--watched")
    assert result.exit_code == 1
    assert "failed: BTC/USDT 1h from crypto:" in text
    assert "fakew: HTTP 503" in text


def test_unwatch_and_the_empty_list():
    invoke("data", "watch", "BTC/USDT", "--timeframe", "1h")
    assert invoke("data", "unwatch", "BTC/USDT")[0].exit_code == 0
    result, text = invoke("data", "unwatch", "BTC/USDT")
    assert result.exit_code == 1
    assert "nothing to unwatch: 'BTC/USDT' is not on the watch list" in text
    assert "the watch list of" in invoke("data", "watched")[1]
    assert json.loads(invoke("data", "watched", "--json")[0].stdout) == []
    result, text = invoke("data", "refresh", "--watched")
    assert result.exit_code == 1
    assert "the watch list of" in text
    assert "is empty; add to it with `backgrid data watch`" in text


def test_bad_watch_input_is_refused():
    result, text = invoke("data", "watch", "X", "--timeframe", "1h", "--ttl", "1mo")
    assert result.exit_code == 1
    assert "ttl must be a whole number and a unit" in text
    result, text = invoke("data", "watch", "X", "--timeframe", "1h", "--provider", "nope")
    assert result.exit_code == 1
    assert "unknown provider 'nope'" in text
    result, text = invoke("data", "refresh", "X", "--watched")
    assert result.exit_code == 1
    assert "name no symbols with it" in text
