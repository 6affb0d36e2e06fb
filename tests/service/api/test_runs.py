"""Runs: queue from a saved version, an inline document or a QuantMetrics request; list; read a finished run's
results (the very numbers of its ``Result``); stream its progress; cancel and delete.

No worker runs here: a finished run is made as a worker would leave it (the ``publish`` fixture).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from backgrid.engine.result import Result
from backgrid.service.results import json_records
from backgrid.service.settings import Limits, Settings
from backgrid.service.store.db import Store
from backgrid.service.store.models import Run
from backgrid.strategy.document import parse, read_text
from backgrid.strategy.library import library_path
from backgrid.strategy.manifest import json_value
from tests.service.api.conftest import settings_for
from tests.strategy.test_quantmetrics import _request as quantmetrics_request  # those tests' valid example

API = "/api/v1"
Publish = Callable[[TestClient, str], None]


@pytest.fixture
def settings(tmp_path) -> Settings:
    # room for the runs these tests queue (the quotas themselves are tested in test_auth)
    return settings_for(tmp_path, tiers={"free": Limits(concurrent_runs=50)})


def _document(**changes: Any) -> dict[str, Any]:
    doc = read_text(library_path("sma-cross").read_text())
    doc.update(changes)
    return doc


def _request(store: Store, run_id: str) -> dict[str, Any]:
    with store.session() as session:
        row = session.get(Run, run_id)
        assert row is not None
        return row.request


def _queue(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    made = client.post(f"{API}/runs", json={"document": _document(), **body}, headers=headers)
    assert made.status_code == 202, made.text
    return made.json()


def test_a_run_of_a_saved_version(client: TestClient, alice, store: Store) -> None:
    strategy = client.post(f"{API}/strategies", json={"document": _document()}, headers=alice).json()
    newer = _document(costs={"commission_percent": 0.1})
    client.put(f"{API}/strategies/{strategy['id']}", json={"document": newer}, headers=alice)
    first = client.post(f"{API}/runs", json={"strategy_id": strategy["id"], "version": 1}, headers=alice).json()
    latest = client.post(f"{API}/runs", json={"strategy_id": strategy["id"]}, headers=alice).json()
    versions = {v["number"]: v for v in client.get(f"{API}/strategies/{strategy['id']}/versions", headers=alice).json()}
    assert first["strategy_version_id"] == versions[1]["id"]
    assert latest["strategy_version_id"] == versions[2]["id"]
    assert _request(store, first["id"])["document"] == versions[1]["document"]
    assert _request(store, latest["id"])["document"] == parse(newer).to_dict()
    assert (first["status"], first["kind"], first["queue"], first["progress"]) == ("queued", "backtest", "manual", 0)
    missing = client.post(f"{API}/runs", json={"strategy_id": strategy["id"], "version": 9}, headers=alice)
    assert missing.status_code == 404


def test_an_inline_document_and_its_config_hash(client: TestClient, alice, store: Store) -> None:
    a, b = _queue(client, alice), _queue(client, alice)
    swept = _queue(client, alice, kind="sweep", options={"sweep": {"fast": [5, 10], "slow": [20, 30, 40]}})
    assert a["strategy_version_id"] is None
    assert a["config_hash"] == b["config_hash"] != swept["config_hash"]
    assert a["id"] != b["id"]
    assert _request(store, a["id"]) == {"document": parse(_document()).to_dict(), "options": {}, "sets": 1}
    assert _request(store, swept["id"])["sets"] == 6
    assert client.get(f"{API}/runs/{a['id']}", headers=alice).json() == a


@pytest.mark.parametrize(("kind", "options", "path"), [
    ("backtest", {"sweep": {"fast": [5]}}, "body.options.sweep"),  # a sweep's option on a backtest
    ("optimise", {"trails": 10}, "body.options.trails"),
    ("walkforward", {"train": 100, "tset": 20}, "body.options.tset"),
])
def test_an_option_the_kind_does_not_take_is_refused_before_queueing(client: TestClient, alice, store: Store,
                                                                      kind, options, path) -> None:
    answer = client.post(f"{API}/runs", json={"kind": kind, "document": _document(), "options": options},
                         headers=alice)
    assert answer.status_code == 422
    assert answer.json()["code"] == "invalid_request"
    assert [d["path"] for d in answer.json()["details"]] == [path]
    with store.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Run)) == 0


def test_a_quantmetrics_request_runs_as_its_native_document(client: TestClient, alice, store: Store) -> None:
    made = client.post(f"{API}/runs", json={"document": quantmetrics_request()}, headers=alice)
    assert made.status_code == 202
    document = _request(store, made.json()["id"])["document"]
    assert document == parse(quantmetrics_request()).to_dict()
    assert (document["tags"], document["market"]["symbols"]) == (["quantmetrics"], ["DEMO-BTC"])


def test_list_filters_and_totals(client: TestClient, alice, bob, publish: Publish) -> None:
    strategy = client.post(f"{API}/strategies", json={"document": _document()}, headers=alice).json()["id"]
    saved = [client.post(f"{API}/runs", json={"strategy_id": strategy}, headers=alice).json() for _ in range(2)]
    inline = [_queue(client, alice) for _ in range(3)]
    sweep = _queue(client, alice, kind="sweep", options={"sweep": {"fast": [5, 10]}})
    _queue(client, bob)
    client.post(f"{API}/runs/{inline[0]['id']}/cancel", headers=alice)
    publish(client, saved[0]["id"])

    def ids(query: str) -> tuple[int, list[str]]:
        page = client.get(f"{API}/runs?{query}", headers=alice).json()
        return page["total"], [r["id"] for r in page["items"]]

    everything = [sweep, *reversed(inline), *reversed(saved)]  # newest first
    assert ids("") == (6, [r["id"] for r in everything])
    assert ids("kind=sweep") == (1, [sweep["id"]])
    assert ids("status=cancelled") == (1, [inline[0]["id"]])
    assert ids("status=succeeded") == (1, [saved[0]["id"]])
    assert ids("status=queued")[0] == 4
    assert ids(f"strategy_id={strategy}") == (2, [saved[1]["id"], saved[0]["id"]])
    assert ids("kind=backtest&status=queued")[0] == 3
    assert ids("limit=2&offset=1") == (6, [r["id"] for r in everything[1:3]])
    assert ids("limit=2&offset=5") == (6, [everything[5]["id"]])
    assert ids("kind=optimise") == (0, [])


@pytest.fixture
def finished(client: TestClient, alice, publish: Publish) -> tuple[str, str]:
    """Two of Alice's runs that succeeded, with ``result.npz`` published."""
    runs = [_queue(client, alice)["id"] for _ in range(2)]
    for run_id in runs:
        publish(client, run_id)
    return runs[0], runs[1]


def _stat(value: Any) -> Any:
    return json_value(value)


def test_results_are_the_results_own_numbers(client: TestClient, alice, finished, result_file: Path) -> None:
    result = Result.load(result_file)
    body = client.get(f"{API}/runs/{finished[0]}/results", headers=alice).json()
    (stats,) = body["stats"]
    assert stats == {str(k): _stat(v) for k, v in result.stats.items()}
    assert stats["trades"] == len(result.trades) > 0
    assert body["warnings"] == list(result.warnings)
    assert body["insights"] == json.loads(json.dumps([i.to_dict() for i in result.insights()], default=str))


def test_trades_and_orders_come_a_page_at_a_time(client: TestClient, alice, finished, result_file: Path) -> None:
    result = Result.load(result_file)
    for route, frame in (("trades", result.trades), ("orders", result.orders)):
        whole = client.get(f"{API}/runs/{finished[0]}/{route}?limit=500", headers=alice).json()
        assert whole["total"] == len(frame)
        assert whole["items"] == json_records(frame)
        page = client.get(f"{API}/runs/{finished[0]}/{route}?limit=3&offset=2", headers=alice).json()
        assert (page["total"], page["limit"], page["offset"]) == (len(frame), 3, 2)
        assert page["items"] == whole["items"][2:5]
    first = client.get(f"{API}/runs/{finished[0]}/trades?limit=1", headers=alice).json()["items"][0]
    assert first["entry_price"] == float(result.trades["entry_price"].iloc[0])
    assert first["entry_time"] == result.trades["entry_time"].iloc[0].isoformat()


def test_equity_keeps_its_ends_and_its_size(client: TestClient, alice, finished, result_file: Path) -> None:
    equity = Result.load(result_file).equity
    points = client.get(f"{API}/runs/{finished[0]}/equity?points=50", headers=alice).json()
    assert len(points) == 50
    assert (points[0]["time"], points[0]["equity"]) == (equity.index[0].isoformat(), float(equity.iloc[0]))
    assert (points[-1]["time"], points[-1]["equity"]) == (equity.index[-1].isoformat(), float(equity.iloc[-1]))
    assert max(p["equity"] for p in points) == float(equity.max())  # LTTB keeps the peak
    assert len(client.get(f"{API}/runs/{finished[0]}/equity?points=20000", headers=alice).json()) == len(equity)


def test_artifacts_list_and_download(client: TestClient, alice, finished, result_file: Path) -> None:
    data = result_file.read_bytes()
    (listed,) = client.get(f"{API}/runs/{finished[0]}/artifacts", headers=alice).json()
    assert (listed["name"], listed["size"], listed["sha256"]) == ("result.npz", len(data),
                                                                  hashlib.sha256(data).hexdigest())
    download = client.get(f"{API}/runs/{finished[0]}/artifacts/result.npz", headers=alice)
    assert download.status_code == 200
    assert download.content == data
    assert download.headers["content-type"] == "application/octet-stream"
    missing = client.get(f"{API}/runs/{finished[0]}/artifacts/report.html", headers=alice).json()
    assert missing["details"] == {"artifacts": ["result.npz"]}


def test_compare_puts_each_runs_stats_side_by_side(client: TestClient, alice, finished, result_file: Path) -> None:
    stats = Result.load(result_file).stats
    body = client.get(f"{API}/runs/compare?ids={finished[0]}&ids={finished[1]}", headers=alice).json()
    assert body["runs"] == list(finished)
    assert body["metrics"] == sorted(str(k) for k in stats.index)
    assert body["values"] == {str(k): [_stat(v), _stat(v)] for k, v in stats.items()}
    queued = _queue(client, alice)["id"]
    refused = client.get(f"{API}/runs/compare?ids={finished[0]}&ids={queued}", headers=alice)
    assert (refused.status_code, refused.json()["code"]) == (409, "no_results")


def _events(client: TestClient, headers: dict[str, str], run_id: str) -> list[tuple[str, dict[str, Any]]]:
    events, name = [], None
    with client.stream("GET", f"{API}/runs/{run_id}/events", headers=headers) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("event:"):
                name = line.removeprefix("event:").strip()
            elif line.startswith("data:") and name is not None:
                events.append((name, json.loads(line.removeprefix("data:"))))
    return events


def test_the_events_of_a_finished_run_end_with_done(client: TestClient, alice, finished) -> None:
    events = _events(client, alice, finished[0])
    assert [name for name, _ in events] == ["progress", "done"]
    assert events[-1][1]["status"] == "succeeded"
    assert events[-1][1]["id"] == finished[0]


def test_the_events_follow_the_rows_progress(client: TestClient, alice, store: Store) -> None:
    run_id = _queue(client, alice)["id"]

    def work() -> None:  # what a worker does to the row, while the stream is open
        for changes in ({"status": "running", "progress": 0.0, "message": "started"},
                        {"progress": 0.5, "message": "halfway"},
                        {"status": "succeeded", "progress": 1.0, "message": "done"}):
            time.sleep(0.3)
            with store.session() as session:
                session.execute(sa.update(Run).where(Run.id == run_id).values(**changes))

    worker = threading.Thread(target=work)
    worker.start()
    try:
        events = _events(client, alice, run_id)
    finally:
        worker.join()
    seen = [(name, e["status"], e["progress"], e["message"]) for name, e in events]
    assert seen == [("progress", "queued", 0.0, "queued"), ("progress", "running", 0.0, "started"),
                    ("progress", "running", 0.5, "halfway"), ("progress", "succeeded", 1.0, "done"),
                    ("done", "succeeded", 1.0, "done")]


def test_cancel_and_delete(client: TestClient, alice, finished, settings: Settings) -> None:
    queued = _queue(client, alice)["id"]
    cancelled = client.post(f"{API}/runs/{queued}/cancel", headers=alice).json()
    assert (cancelled["status"], cancelled["message"]) == ("cancelled", "cancelled before it started")
    assert cancelled["finished_at"] is not None
    assert (settings.artifacts / finished[0] / "result.npz").is_file()
    assert client.delete(f"{API}/runs/{finished[0]}", headers=alice).status_code == 204
    assert not (settings.artifacts / finished[0]).exists()
    assert client.get(f"{API}/runs/{finished[0]}", headers=alice).status_code == 404
    assert client.delete(f"{API}/runs/{queued}", headers=alice).status_code == 204  # cancelled is finished
    assert client.get(f"{API}/runs", headers=alice).json()["total"] == 1
