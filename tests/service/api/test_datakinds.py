"""Data runs and reports through the API, run by a worker in this process: a vendor's series fetched into the
caller's store (CryptoCompare's recorded pages, served by respx), a refresh whose vendor is down, the tear sheet
of a finished backtest; and the requests refused before anything is queued."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from backgrid.data.providers.cryptocompare import KEY_VARIABLE
from backgrid.service.jobs.context import error_of
from backgrid.service.jobs.worker import Worker
from backgrid.service.settings import Limits, Settings
from backgrid.service.store.db import Store
from backgrid.service.userdata import user_store
from backgrid.strategy.document import read_text
from backgrid.strategy.library import library_path
from tests.service.api.conftest import settings_for

API = "/api/v1"
FIXTURES = Path(__file__).parents[2] / "data" / "providers" / "fixtures" / "cryptocompare"
HOST = "min-api.cryptocompare.com"
FETCH = {"symbol": "BTC/USD", "timeframe": "1d", "provider": ["cryptocompare"], "start": "2024-01-01",
         "end": "2024-01-10"}


@pytest.fixture
def settings(tmp_path) -> Settings:
    return settings_for(tmp_path, tiers={"free": Limits(concurrent_runs=50)}, retry_backoff_seconds=0.0)


@pytest.fixture(autouse=True)
def no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_VARIABLE, raising=False)


def _pages() -> list[httpx.Response]:
    return [httpx.Response(200, json=json.loads((FIXTURES / f"histoday_btc_usd_page{n}.json").read_text()))
            for n in (1, 2, 3)]


def _work(settings: Settings, store: Store) -> None:
    assert Worker(settings, store=store).run_once()


def _run(client: TestClient, headers: dict[str, str], run_id: str) -> dict[str, Any]:
    return client.get(f"{API}/runs/{run_id}", headers=headers).json()


def test_a_vendor_series_is_fetched_into_the_callers_store(client: TestClient, alice, bob, settings: Settings,
                                                           store: Store) -> None:
    queued = client.post(f"{API}/data/fetch", json=FETCH, headers=alice)
    assert queued.status_code == 202, queued.text
    assert (queued.json()["kind"], queued.json()["status"]) == ("import", "queued")
    with respx.mock(assert_all_mocked=True) as vendor:
        route = vendor.get(host=HOST, path="/data/v2/histoday").mock(side_effect=_pages())
        _work(settings, store)
    assert route.call_count == 3  # the three recorded pages, walked back from the end
    row = _run(client, alice, queued.json()["id"])
    assert row["status"] == "succeeded", row["error"]
    summary = row["summary"]
    assert summary["added"] == 9  # 2024-01-01 to 2024-01-09: the end is excluded
    assert summary["series"]["rows"] == 9
    assert (summary["series"]["first"], summary["series"]["last"]) == ("2024-01-01T00:00:00+00:00",
                                                                       "2024-01-09T00:00:00+00:00")
    assert [s["vendor"] for s in summary["series"]["served_by"]] == ["cryptocompare"]
    listed = client.get(f"{API}/data", headers=alice).json()["items"]
    assert [(s["symbol"], s["timeframe"], s["source"], s["rows"]) for s in listed] == [
        ("BTC/USD", "1d", "cryptocompare", 9)]
    assert client.get(f"{API}/data", headers=bob).json()["items"] == []  # Alice's store, not Bob's


def test_a_refresh_reports_the_series_its_vendor_could_not_serve(client: TestClient, alice, settings: Settings,
                                                                 store: Store) -> None:
    first = client.post(f"{API}/data/fetch", json=FETCH, headers=alice).json()
    with respx.mock(assert_all_mocked=True) as vendor:
        vendor.get(host=HOST, path="/data/v2/histoday").mock(side_effect=_pages())
        _work(settings, store)
    assert _run(client, alice, first["id"])["status"] == "succeeded"
    queued = client.post(f"{API}/data/refresh", json={"symbols": ["BTC/USD"]}, headers=alice)
    assert queued.status_code == 202, queued.text
    with respx.mock(assert_all_mocked=True) as vendor:
        vendor.get(host=HOST, path="/data/v2/histoday").mock(return_value=httpx.Response(503))
        _work(settings, store)
    row = _run(client, alice, queued.json()["id"])
    assert row["status"] == "succeeded", row["error"]
    (entry,) = row["summary"]["series"]
    assert (entry["symbol"], entry["status"], entry["added"]) == ("BTC/USD", "failed", 0)
    assert "503" in entry["error"]
    assert row["summary"]["failed"] == 1
    assert client.get(f"{API}/data", headers=alice).json()["items"][0]["rows"] == 9  # the stored bars stay


def test_a_watched_refresh_fetches_the_due_series_and_records_them(client: TestClient, alice, settings: Settings,
                                                                   store: Store) -> None:
    me = client.get(f"{API}/auth/me", headers=alice).json()["id"]
    user_store(settings.home, me).watch("BTC/USD", "1d", "cryptocompare")  # nothing stored yet: due
    queued = client.post(f"{API}/data/refresh", json={"watched": True}, headers=alice).json()
    with respx.mock(assert_all_mocked=True) as vendor:
        empty = {"Response": "Success", "Message": "", "Type": 100, "Data": {"TimeFrom": 0, "TimeTo": 0, "Data": []}}
        route = vendor.get(host=HOST, path="/data/v2/histoday").mock(  # no start: back until the vendor has no more
            side_effect=[*_pages()[:1], httpx.Response(200, json=empty)])
        _work(settings, store)
    assert route.call_count == 2
    row = _run(client, alice, queued["id"])
    assert row["status"] == "succeeded", row["error"]
    assert [(s["symbol"], s["status"], s["added"]) for s in row["summary"]["series"]] == [("BTC/USD", "refreshed", 3)]
    listed = client.get(f"{API}/data", headers=alice).json()["items"]
    assert [(s["symbol"], s["source"], s["rows"]) for s in listed] == [("BTC/USD", "cryptocompare", 3)]


@pytest.mark.parametrize(("body", "path"), [({}, "options.symbols"), ({"watched": True}, "options.watched")])
def test_a_refresh_with_nothing_to_refresh_fails_at_once(client: TestClient, alice, settings: Settings, store: Store,
                                                         body: dict[str, Any], path: str) -> None:
    queued = client.post(f"{API}/data/refresh", json=body, headers=alice).json()
    _work(settings, store)
    row = _run(client, alice, queued["id"])
    assert (row["status"], row["attempts"]) == ("failed", 1)  # bad input: no retry
    assert row["error"]["details"][0]["path"] == path


def test_the_report_of_a_finished_backtest(client: TestClient, alice, settings: Settings, store: Store) -> None:
    document = read_text(library_path("sma-cross").read_text())
    backtest = client.post(f"{API}/runs", json={"document": document}, headers=alice).json()
    early = client.post(f"{API}/runs", json={"kind": "report", "options": {"run": backtest["id"]}}, headers=alice)
    assert (early.status_code, early.json()["code"]) == (409, "no_results")  # it has not run yet
    _work(settings, store)
    queued = client.post(f"{API}/runs", json={"kind": "report", "options": {"run": backtest["id"]}}, headers=alice)
    assert queued.status_code == 202, queued.text
    assert queued.json()["parent_id"] == backtest["id"]
    _work(settings, store)
    row = _run(client, alice, queued.json()["id"])
    assert row["status"] == "succeeded", row["error"]
    assert row["summary"] == {"run": backtest["id"], "note": None}  # regimes drawn: the run's bars are stored
    page = client.get(f"{API}/runs/{row['id']}/artifacts/tear.html", headers=alice)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "sma-cross" in page.text
    children = client.get(f"{API}/runs", params={"parent_id": backtest["id"]}, headers=alice).json()["items"]
    assert [c["id"] for c in children] == [row["id"]]


@pytest.mark.parametrize(("route", "body", "path"), [
    ("/data/fetch", {**FETCH, "timeframe": "7x"}, "body.timeframe"),
    ("/data/fetch", {**FETCH, "provider": ["nobody"]}, "body.provider"),
    ("/data/fetch", {**FETCH, "end": "2023-12-01"}, "body.end"),
    ("/data/fetch", {**FETCH, "start": "yesterday-ish"}, "body.start"),
    ("/data/fetch", {**FETCH, "symbol": "../etc"}, "body.symbol"),
    ("/data/fetch", {key: value for key, value in FETCH.items() if key != "provider"}, "body.provider"),
    ("/data/refresh", {"symbols": ["BTC/USD"], "watched": True}, "body.symbols"),
    ("/runs", {"kind": "import", "options": {**FETCH, "asset_class": "crypto"}}, "body.options.provider"),
    ("/runs", {"kind": "report", "options": {"run": 7}}, "body.options.run"),
    ("/runs", {"kind": "report", "options": {"run": "x", "pdf": "yes"}}, "body.options.pdf"),
    ("/runs", {"kind": "refresh", "document": {"name": "x"}}, "body.document"),
])
def test_bad_data_requests_are_refused_before_anything_is_queued(client: TestClient, alice, route: str,
                                                                 body: dict[str, Any], path: str) -> None:
    refused = client.post(API + route, json=body, headers=alice)
    assert refused.status_code == 422, refused.text
    assert path in [d["path"] for d in refused.json()["details"]], refused.json()
    assert client.get(f"{API}/runs", headers=alice).json()["total"] == 0


@pytest.mark.parametrize(("error", "retried"), [
    ("ProviderUnavailableError", True), ("RateLimitError", True), ("ResponseError", True),
    ("CredentialsError", False), ("SourceError", False),
])
def test_a_vendor_that_may_answer_later_is_tried_again(error: str, retried: bool) -> None:
    import backgrid.errors

    kind = getattr(backgrid.errors, error)
    raised = kind("no such series") if error == "SourceError" else kind("the vendor said no", provider="cryptocompare")
    assert error_of(raised)[1] is retried
