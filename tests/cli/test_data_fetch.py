"""``backgrid data fetch``, ``refresh`` and ``providers`` with fake vendors in the registry (no network)."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from backgrid.cli.main import app
from backgrid.data.providers import chain as chain_module
from backgrid.data.providers.base import Capabilities, vendor_bars
from backgrid.data.providers.chain import PROVIDERS, ProviderSpec
from backgrid.data.providers.limits import Limit
from backgrid.data.store import DataStore
from backgrid.errors import ProviderUnavailableError, SourceError

runner = CliRunner(env={"COLUMNS": "80"})
T0 = pd.Timestamp("2024-01-01", tz="UTC")
#: what the fake vendors serve: hours [0, UNTIL["fake"]) of one price path; "down" always fails
UNTIL = {"fake": 48}


class FakeVendor:
    """Hourly bars of a path whose close at hour h is 100 + h, up to ``UNTIL['fake']``."""

    capabilities = Capabilities(timeframes=("1h",), asset_classes=("crypto",))

    def __init__(self):
        self.name = "fake"

    def fetch(self, symbol, timeframe, *, start=None, end=None):
        hours = np.arange(UNTIL["fake"])
        close = 100.0 + hours
        index = pd.DatetimeIndex(T0 + pd.to_timedelta(hours, unit="h")).tz_convert("Asia/Tokyo")  # not UTC
        frame = pd.DataFrame({"open": close, "high": close + 1, "low": close - 1, "close": close, "volume": 5.0},
                             index=index)
        return vendor_bars(frame, provider=self.name, symbol=symbol, timeframe=timeframe, start=start, end=end,
                           calendar="crypto")


class DownVendor:
    capabilities = FakeVendor.capabilities

    def __init__(self):
        self.name = "down"

    def fetch(self, *_args, **_kwargs):
        msg = "down: HTTP 502 Bad Gateway"
        raise ProviderUnavailableError(msg, provider=self.name)


@pytest.fixture(autouse=True)
def fake_registry(monkeypatch):
    here = __name__
    monkeypatch.setitem(PROVIDERS, "fake", ProviderSpec("fake", (f"{here}:FakeVendor",), "json", ("crypto",),
                                                        Limit(100, 10), ("FAKE_API_KEY",)))
    monkeypatch.setitem(PROVIDERS, "down", ProviderSpec("down", (f"{here}:DownVendor",), "json", ("crypto",),
                                                        Limit(100, 10)))
    monkeypatch.setitem(chain_module.DEFAULT_CHAINS, "crypto", ("down", "fake"))
    monkeypatch.setitem(UNTIL, "fake", 48)


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    return result, re.sub(r"\s+", " ", result.output)


def test_fetch_stores_what_the_vendor_serves_in_utc():
    result, text = invoke("data", "fetch", "BTC/USDT", "-p", "fake", "-t", "1h", "--from", "2024-01-01",
                          "--to", "2024-01-02")
    assert result.exit_code == 0, text
    bars = DataStore().read("BTC/USDT", "1h", source="fake")
    assert len(bars) == 24
    assert bars.index[0] == T0  # Tokyo times converted, not shifted
    np.testing.assert_array_equal(bars.close, 100.0 + np.arange(24))
    assert "served by: fake: 2024-01-01 00:00 .. 2024-01-01 23:00 UTC" in text
    assert all(len(line) <= 80 for line in result.stdout.splitlines())  # the brief listing fits 80 columns


def test_a_chain_falls_back_and_names_the_vendor_that_answered():
    result, text = invoke("data", "fetch", "BTC/USDT", "-a", "crypto", "-t", "1h", "--from", "2024-01-01",
                          "--to", "2024-01-01 06:00")
    assert result.exit_code == 0, text
    info = DataStore().info("BTC/USDT", "1h", "crypto")
    assert [e.vendor for e in info.lineage] == ["fake"]
    assert info.rows == 6


def test_fetch_failures_are_clear_and_leave_nothing_behind(backgrid_home):
    result, text = invoke("data", "fetch", "BTC/USDT", "-p", "down", "-t", "1h", "--from", "2024-01-01")
    assert result.exit_code == 1
    assert "error: no vendor of 'down' served 'BTC/USDT' 1h: down: down: HTTP 502 Bad Gateway" in text
    assert not list(backgrid_home.rglob("*.parquet"))
    for args, said in [(["-p", "oanda"], "unknown provider 'oanda'"),
                       ([], "name the vendors with --provider P"),
                       (["-p", "fake", "--from", "yesterdayish"], "--from must be a date or time"),
                       (["-a", "bonds"], "unknown asset class 'bonds'")]:
        result, text = invoke("data", "fetch", "X", "-t", "1h", *args)
        assert result.exit_code == 1, args
        assert said in text
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_refresh_appends_new_bars_and_skips_series_not_from_a_vendor():
    invoke("data", "fetch", "BTC/USDT", "-p", "fake", "-t", "1h", "--from", "2024-01-01")
    assert DataStore().info("BTC/USDT", "1h", "fake").rows == 48
    UNTIL["fake"] = 50
    invoke("data", "import", "tests/data/fixtures/formats/yahoo_aapl_1d.csv", "-s", "AAPL", "-t", "1d")
    result, text = invoke("data", "refresh")
    assert result.exit_code == 0, text
    assert "BTC/USDT 1h from fake: +2 bar(s), last 2024-01-03 01:00" in text
    assert "AAPL 1d from csv: skipped (not from a vendor)" in text
    assert DataStore().info("BTC/USDT", "1h", "fake").rows == 50
    result, text = invoke("data", "refresh", "NOPE")
    assert result.exit_code == 1
    assert "nothing to refresh" in text


def test_refresh_exits_1_when_a_vendor_fails(monkeypatch):
    invoke("data", "fetch", "BTC/USDT", "-p", "fake", "-t", "1h", "--from", "2024-01-01")

    def failing(*_args, **_kwargs):
        msg = "fake: timed out after 10 s"
        raise ProviderUnavailableError(msg, provider="fake")

    monkeypatch.setattr(FakeVendor, "fetch", failing)
    result, text = invoke("data", "refresh", "BTC/USDT")
    assert result.exit_code == 1
    assert "failed: BTC/USDT 1h from fake" in text
    assert "timed out" in text
    assert DataStore().info("BTC/USDT", "1h", "fake").rows == 48


def test_providers_lists_install_state_and_credentials_without_values(monkeypatch):
    monkeypatch.setenv("FAKE_API_KEY", "s3cr3t-value")
    result, text = invoke("data", "providers")
    assert result.exit_code == 0, text
    assert "s3cr3t-value" not in result.output
    assert "FAKE_API_KEY set" in text
    result = runner.invoke(app, ["data", "providers", "--json"])
    rows = {r["provider"]: r for r in json.loads(result.stdout)}
    assert rows["fake"]["installed"] is True
    assert rows["fake"]["credentials"] == ["FAKE_API_KEY set"]
    assert rows["fake"]["limit"] == "100/s, burst 10"
    assert rows["down"]["credentials"] == ["none needed"]
    assert set(rows) >= {"yfinance", "ccxt:<exchange>", "alpaca", "polygon", "cryptocompare"}
    assert "chains: crypto: down -> fake" in re.sub(r"\s+", " ", runner.invoke(app, ["data", "providers"]).output)


def test_the_fake_vendor_refuses_an_empty_range():
    with pytest.raises(SourceError, match="no 1h bars"):
        FakeVendor().fetch("X", "1h", start=T0 + pd.Timedelta(days=9))
