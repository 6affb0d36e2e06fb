"""Strategies: create, read, list, save versions (never changed once written), diff, validate, summarise, delete."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from backgrid.service.store.db import Store
from backgrid.service.store.models import StrategyVersion
from backgrid.strategy.document import parse, read_text
from backgrid.strategy.library import library_path
from backgrid.strategy.spec import json_schema
from backgrid.strategy.summary import summary
from tests.strategy.test_quantmetrics import _request as quantmetrics_request  # those tests' valid example

API = "/api/v1"


def _document(name: str = "sma-cross", **changes: Any) -> dict[str, Any]:
    doc = read_text(library_path(name).read_text())
    doc.update(changes)
    return doc


def test_create_read_and_list(client: TestClient, alice) -> None:
    made = client.post(f"{API}/strategies", json={"document": _document()}, headers=alice)
    assert made.status_code == 201
    body = made.json()
    spec = parse(_document())
    assert (body["name"], body["auto_update"]) == ("sma-cross", False)
    assert body["version"]["number"] == 1
    assert body["version"]["hash"] == spec.fingerprint()
    assert body["version"]["document"] == spec.to_dict()
    assert body["summary"] == summary(spec)
    assert client.get(f"{API}/strategies/{body['id']}", headers=alice).json() == body
    named = client.post(f"{API}/strategies", json={"document": _document(), "name": "my copy"}, headers=alice)
    assert named.json()["name"] == "my copy"
    listed = client.get(f"{API}/strategies", headers=alice).json()
    assert listed["total"] == 2
    assert [s["name"] for s in listed["items"]] == ["my copy", "sma-cross"]  # the most recently saved first


def test_pages_of_strategies(client: TestClient, alice) -> None:
    for name in ("one", "two", "three"):
        client.post(f"{API}/strategies", json={"document": _document(), "name": name}, headers=alice)
    first = client.get(f"{API}/strategies?limit=2", headers=alice).json()
    rest = client.get(f"{API}/strategies?limit=2&offset=2", headers=alice).json()
    assert (first["total"], first["limit"], first["offset"], len(first["items"])) == (3, 2, 0, 2)
    assert (rest["total"], rest["offset"], len(rest["items"])) == (3, 2, 1)
    assert {s["name"] for s in first["items"] + rest["items"]} == {"one", "two", "three"}
    beyond = client.get(f"{API}/strategies?offset=10", headers=alice).json()
    assert (beyond["items"], beyond["total"]) == ([], 3)


def test_versions_are_never_changed(client: TestClient, alice, store: Store) -> None:
    strategy = client.post(f"{API}/strategies", json={"document": _document()}, headers=alice).json()
    first = client.get(f"{API}/strategies/{strategy['id']}/versions/1", headers=alice).json()
    changed = _document(costs={"commission_percent": 0.1})
    saved = client.put(f"{API}/strategies/{strategy['id']}", json={"document": changed}, headers=alice).json()
    assert saved["version"]["number"] == 2
    assert saved["version"]["hash"] == parse(changed).fingerprint() != first["hash"]
    assert saved["updated_at"] >= strategy["updated_at"]
    assert client.get(f"{API}/strategies/{strategy['id']}/versions/1", headers=alice).json() == first
    versions = client.get(f"{API}/strategies/{strategy['id']}/versions", headers=alice).json()
    assert [v["number"] for v in versions] == [2, 1]
    assert versions[1] == first
    # saving the same document again is a new version too (a save is a point in the history)
    again = client.put(f"{API}/strategies/{strategy['id']}", json={"document": changed}, headers=alice).json()
    assert again["version"]["number"] == 3
    with store.session() as session:
        rows = session.scalars(sa.select(StrategyVersion.number).where(
            StrategyVersion.strategy_id == strategy["id"]).order_by(StrategyVersion.number)).all()
    assert list(rows) == [1, 2, 3]


def test_rename_and_names_taken(client: TestClient, alice) -> None:
    a = client.post(f"{API}/strategies", json={"document": _document()}, headers=alice).json()
    client.post(f"{API}/strategies", json={"document": _document(), "name": "other"}, headers=alice)
    renamed = client.put(f"{API}/strategies/{a['id']}", json={"document": _document(), "name": "renamed"},
                         headers=alice).json()
    assert renamed["name"] == "renamed"
    taken = client.put(f"{API}/strategies/{a['id']}", json={"document": _document(), "name": "other"}, headers=alice)
    assert (taken.status_code, taken.json()["code"]) == (409, "name_taken")
    assert client.get(f"{API}/strategies/{a['id']}/versions", headers=alice).json()[0]["number"] == 2


def test_diff_of_two_versions(client: TestClient, alice) -> None:
    strategy = client.post(f"{API}/strategies", json={"document": _document()}, headers=alice).json()["id"]
    client.put(f"{API}/strategies/{strategy}", json={"document": _document(costs={"commission_percent": 0.1})},
               headers=alice)
    changes = client.get(f"{API}/strategies/{strategy}/diff?a=1&b=2", headers=alice).json()
    assert {"path": "costs.commission_percent", "a": 0.05, "b": 0.1} in changes
    assert all(c["a"] != c["b"] for c in changes)
    assert client.get(f"{API}/strategies/{strategy}/diff?a=2&b=2", headers=alice).json() == []
    backwards = client.get(f"{API}/strategies/{strategy}/diff?a=2&b=1", headers=alice).json()
    assert backwards == [{"path": c["path"], "a": c["b"], "b": c["a"]} for c in changes]


def test_validate_says_what_is_wrong_or_what_it_does(client: TestClient, alice) -> None:
    good = client.post(f"{API}/strategies/validate", json={"document": _document("rsi-mean-reversion")},
                       headers=alice).json()
    spec = parse(_document("rsi-mean-reversion"))
    assert good == {"valid": True, "problems": [], "summary": summary(spec), "hash": spec.fingerprint()}
    bad = _document()
    del bad["schema_version"]
    bad["indicators"]["fast"]["id"] = "smaa"
    found = client.post(f"{API}/strategies/validate", json={"document": bad}, headers=alice).json()
    assert found["valid"] is False
    assert (found["summary"], found["hash"]) == (None, None)
    assert "document.schema_version" in [p["path"] for p in found["problems"]]
    assert client.get(f"{API}/strategies", headers=alice).json()["total"] == 0  # nothing was saved


def test_summary_schema_and_delete(client: TestClient, alice, store: Store) -> None:
    strategy = client.post(f"{API}/strategies", json={"document": _document()}, headers=alice).json()["id"]
    described = client.get(f"{API}/strategies/{strategy}/summary", headers=alice).json()
    assert described == {"summary": summary(parse(_document()))}
    assert client.get(f"{API}/strategies/schema").json() == json_schema()
    assert client.delete(f"{API}/strategies/{strategy}", headers=alice).status_code == 204
    assert client.get(f"{API}/strategies/{strategy}", headers=alice).status_code == 404
    with store.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(StrategyVersion)) == 0


def test_a_quantmetrics_request_saves_as_its_native_document(client: TestClient, alice) -> None:
    made = client.post(f"{API}/strategies", json={"document": quantmetrics_request()}, headers=alice).json()
    assert made["version"]["document"] == parse(quantmetrics_request()).to_dict()
    assert made["version"]["document"]["tags"] == ["quantmetrics"]
