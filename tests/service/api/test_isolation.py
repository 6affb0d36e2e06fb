"""One user never reaches another's things: generated from the app's route table, so a new route cannot be missed.

Every route under ``/api/v1`` is in exactly one table below: routes that take an id (in the path, the query
or the body) are called by Bob with Alice's ids and must answer exactly as for ids nobody has (404, with
the same body once the ids are swapped), leaving every row and file as it was; list routes must never show
Bob Alice's things; the rest say why they need no such check.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from backgrid.service.app import create_app
from backgrid.service.store.db import new_id
from backgrid.service.store.models import Base
from backgrid.strategy.document import read_text
from backgrid.strategy.library import library_path
from tests.service.api.conftest import login, settings_for
from tests.service.api.test_data import daily_csv

API = "/api/v1"


@dataclass(frozen=True)
class Call:
    """How to call a route with somebody's ids: ``use`` maps a path parameter to the id it takes."""

    query: str = ""
    json: dict[str, Any] | None = None
    use: dict[str, str] = field(default_factory=dict)


def _document() -> dict[str, Any]:
    return read_text(library_path("sma-cross").read_text())


def _second_document() -> dict[str, Any]:
    doc = _document()
    doc["costs"] = {"commission_percent": 0.1}
    return doc


#: routes that take an id; what each needs (run_id: a succeeded run; queued_run: a queued one)
BY_ID: dict[tuple[str, str], Call] = {
    ("DELETE", "/auth/keys/{key_id}"): Call(),
    ("GET", "/strategies/{strategy_id}"): Call(),
    ("PUT", "/strategies/{strategy_id}"): Call(json={"document": _second_document()}),
    ("DELETE", "/strategies/{strategy_id}"): Call(),
    ("GET", "/strategies/{strategy_id}/versions"): Call(),
    ("GET", "/strategies/{strategy_id}/versions/{number}"): Call(),
    ("GET", "/strategies/{strategy_id}/diff"): Call(query="?a=1&b=2"),
    ("GET", "/strategies/{strategy_id}/summary"): Call(),
    ("POST", "/runs"): Call(json={"strategy_id": "{strategy_id}"}),
    ("GET", "/runs/compare"): Call(query="?ids={run_id}&ids={other_run}"),
    ("GET", "/runs/{run_id}"): Call(),
    ("POST", "/runs/{run_id}/cancel"): Call(use={"run_id": "queued_run"}),
    ("DELETE", "/runs/{run_id}"): Call(),
    ("GET", "/runs/{run_id}/events"): Call(),
    ("GET", "/runs/{run_id}/results"): Call(),
    ("GET", "/runs/{run_id}/trades"): Call(),
    ("GET", "/runs/{run_id}/orders"): Call(),
    ("GET", "/runs/{run_id}/trials"): Call(),
    ("GET", "/runs/{run_id}/folds"): Call(),
    ("GET", "/runs/{run_id}/equity"): Call(),
    ("GET", "/runs/{run_id}/artifacts"): Call(),
    ("GET", "/runs/{run_id}/artifacts/{name}"): Call(),
    ("DELETE", "/data/{series_id}"): Call(),
    ("POST", "/feedback"): Call(json={"text": "about a run", "run_id": "{run_id}"}),
}

#: list routes: what the items' ids are (Bob's list must not show one of Alice's)
LISTS: dict[tuple[str, str], Callable[[Any], list[str]]] = {
    ("GET", "/auth/keys"): lambda body: [k["id"] for k in body],
    ("GET", "/strategies"): lambda body: [s["id"] for s in body["items"]],
    ("GET", "/runs"): lambda body: [r["id"] for r in body["items"]],
    ("GET", "/data"): lambda body: [s["id"] for s in body["items"]],
}

#: routes that read or make only the caller's own things, or nobody's, and take no id of a user's thing
EXEMPT: dict[tuple[str, str], str] = {
    ("POST", "/auth/register"): "anonymous: makes a new account, takes no id",
    ("POST", "/auth/login"): "anonymous: credentials only",
    ("POST", "/auth/refresh"): "anonymous: the token names its user (signed; test_malformed forges one)",
    ("GET", "/auth/me"): "the caller's own account, no id",
    ("POST", "/auth/keys"): "makes a key for the caller, no id",
    ("POST", "/invites"): "administrators only (403 otherwise, test_malformed), takes no id",
    ("GET", "/admin/funnel"): "administrators only (403 otherwise, test_malformed), counts, no id",
    ("GET", "/strategies/schema"): "public: the document schema",
    ("POST", "/strategies/validate"): "stateless: checks the posted document, stores nothing",
    ("POST", "/strategies"): "makes the caller's strategy (same names per user: test below)",
    ("GET", "/indicators"): "public catalog",
    ("GET", "/indicators/{indicator_id}"): "public catalog: the id is an indicator module's, nobody's thing",
    ("GET", "/engine/options"): "public: the engine options' schema",
    ("POST", "/data"): "stores into the caller's own data store (same symbols per user: test below)",
    ("POST", "/data/fetch"): "queues an import into the caller's own data store, takes no id",
    ("POST", "/data/refresh"): "queues a refresh of the caller's own series, takes no id",
    ("POST", "/events"): "records the caller's own analytics event, no id",
}


#: reads first, then what changes things, the deletes of what others depend on last (the world is shared by the
#: module's tests: a route that wrongly changed Alice's things must not hide what a later read would show)
ORDER = sorted(BY_ID, key=lambda r: (r[0] != "GET", r[0] == "DELETE", r[1].startswith("/strategies"), r))


def _api_routes(app: Any) -> set[tuple[str, str]]:
    routes = set()
    for route in iter_route_contexts(app.routes):
        if route.path and route.path.startswith(API + "/"):
            routes.update((method, route.path.removeprefix(API)) for method in route.methods or ())
    return routes


@dataclass
class World:
    """Alice's and Bob's things in one app."""

    client: TestClient
    home: Path
    alice: dict[str, str]
    bob: dict[str, str]
    ids: dict[str, Any]  # Alice's
    bobs: dict[str, Any]  # Bob's own
    nobody: dict[str, Any]  # ids nobody has


def _things(client: TestClient, headers: dict[str, str], publish: Callable[[TestClient, str], None]
            ) -> dict[str, Any]:
    strategy = client.post(f"{API}/strategies", json={"document": _document()}, headers=headers).json()["id"]
    assert client.put(f"{API}/strategies/{strategy}", json={"document": _second_document()},
                      headers=headers).status_code == 200
    runs = [client.post(f"{API}/runs", json={"strategy_id": strategy}, headers=headers).json()["id"]
            for _ in range(3)]
    for run_id in runs[:2]:
        publish(client, run_id)
    key = client.post(f"{API}/auth/keys", json={"name": "script"}, headers=headers).json()["id"]
    series = client.post(f"{API}/data", files={"file": ("bars.csv", daily_csv(10))},
                         data={"symbol": "ABC", "timeframe": "1d"}, headers=headers).json()["series"]["id"]
    return {"strategy_id": strategy, "run_id": runs[0], "other_run": runs[1], "queued_run": runs[2],
            "key_id": key, "series_id": series, "number": 1, "name": "result.npz"}


@contextmanager
def _world(tmp: Path, publish: Callable[[TestClient, str], None]) -> Iterator[World]:
    with TestClient(create_app(settings_for(tmp))) as client:
        alice, bob = login(client, "alice@example.com"), login(client, "bob@example.com")
        ids, bobs = _things(client, alice, publish), _things(client, bob, publish)
        nobody = {**ids, **{k: new_id() for k in ids if k not in ("number", "name")}}
        yield World(client, tmp, alice, bob, ids, bobs, nobody)


@pytest.fixture(scope="module")
def world(tmp_path_factory, publish) -> Iterator[World]:
    with _world(tmp_path_factory.mktemp("isolation"), publish) as made:
        yield made


def fill_ids(value: Any, ids: dict[str, Any]) -> Any:
    """``value`` with each ``{name}`` in its text (nested in dicts too) replaced by ``ids[name]``."""
    if isinstance(value, str):
        return value.format(**ids) if "{" in value else value
    if isinstance(value, dict):
        return {k: fill_ids(v, ids) for k, v in value.items()}
    return value


def _call(client: TestClient, route: tuple[str, str], ids: dict[str, Any], headers: dict[str, str]) -> Any:
    method, path = route
    call = BY_ID[route]
    params = {name: ids[call.use.get(name, name)]
              for _, name, _, _ in string.Formatter().parse(path) if name is not None}
    url = API + path.format(**params) + fill_ids(call.query, ids)
    return client.request(method, url, json=fill_ids(call.json, ids), headers=headers)


def _snapshot(world: World) -> tuple[dict[str, list[tuple[Any, ...]]], dict[str, str]]:
    """Every row of every table, and every file under the home with its digest."""
    store = world.client.app.state.context.store  # type: ignore[attr-defined]
    with store.engine.connect() as connection:
        rows = {t.name: sorted(map(tuple, connection.execute(sa.select(t))), key=repr)
                for t in Base.metadata.sorted_tables}
    files = {str(p.relative_to(world.home)): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(world.home.rglob("*")) if p.is_file() and p.suffix not in (".sqlite-wal", ".sqlite-shm")
             and p.name != "service.sqlite"}
    return rows, files


def test_every_api_route_is_in_one_table(world: World) -> None:
    routes = _api_routes(world.client.app)
    tables = [set(BY_ID), set(LISTS), set(EXEMPT)]
    assert not set.intersection(*tables[:2])
    assert not (tables[0] | tables[1]) & tables[2]
    listed = set().union(*tables)
    assert routes - listed == set(), "new routes: add each to BY_ID, LISTS or EXEMPT (with a reason)"
    assert listed - routes == set(), "routes that no longer exist"


@pytest.mark.parametrize("route", ORDER, ids=lambda r: f"{r[0]} {r[1]}")
def test_another_users_id_reads_as_a_missing_one(world: World, route: tuple[str, str]) -> None:
    before = _snapshot(world)
    theirs = _call(world.client, route, world.ids, world.bob)
    missing = _call(world.client, route, world.nobody, world.bob)
    assert missing.status_code == 404, missing.text
    assert theirs.status_code == missing.status_code
    text = theirs.text
    for key, value in world.ids.items():
        text = text.replace(str(value), str(world.nobody[key]))
    assert text == missing.text
    assert theirs.headers.get("content-type") == missing.headers.get("content-type")
    assert _snapshot(world) == before


@pytest.mark.parametrize("route", sorted(LISTS), ids=lambda r: f"{r[0]} {r[1]}")
def test_lists_show_only_the_callers_things(world: World, route: tuple[str, str]) -> None:
    method, path = route
    ids_of = LISTS[route]
    alices = set(ids_of(world.client.request(method, API + path, headers=world.alice).json()))
    bobs = set(ids_of(world.client.request(method, API + path, headers=world.bob).json()))
    assert alices
    assert bobs
    assert not alices & bobs
    mine = {v for k, v in world.bobs.items() if k not in ("number", "name")}
    assert bobs <= mine


def test_a_report_of_another_users_run_reads_as_a_missing_one(world: World) -> None:
    """POST /runs takes a run id in its body for a report: Bob's report of Alice's run is a report of nothing."""
    before = _snapshot(world)
    answers = [world.client.post(f"{API}/runs", json={"kind": "report", "options": {"run": ids["run_id"]}},
                                 headers=world.bob) for ids in (world.ids, world.nobody)]
    assert [a.status_code for a in answers] == [404, 404], answers[0].text
    assert answers[0].text.replace(world.ids["run_id"], world.nobody["run_id"]) == answers[1].text
    assert _snapshot(world) == before


@pytest.mark.parametrize("query", ["strategy_id={strategy_id}", "parent_id={run_id}"])
def test_run_filters_by_another_users_ids_find_nothing(world: World, query: str) -> None:
    theirs = world.client.get(f"{API}/runs?{query.format(**world.ids)}", headers=world.bob).json()
    missing = world.client.get(f"{API}/runs?{query.format(**world.nobody)}", headers=world.bob).json()
    assert theirs["items"] == missing["items"] == []
    assert theirs["total"] == 0


def test_names_and_symbols_are_per_user(world: World) -> None:
    # both made a strategy named sma-cross and uploaded ABC 1d: each has their own, under their own folder
    for route, key in (("/strategies", "name"), ("/data", "symbol")):
        mine = world.client.get(API + route, headers=world.bob).json()["items"]
        theirs = world.client.get(API + route, headers=world.alice).json()["items"]
        assert [s[key] for s in mine] == [s[key] for s in theirs] == [s[key] for s in theirs[:1]]
        assert mine[0]["id"] != theirs[0]["id"]
    assert len(list((world.home / "users").iterdir())) == 2


def test_the_owner_reaches_every_id_route(tmp_path, publish) -> None:
    """The control: with her own ids Alice gets an answer for each route, so the 404s above are Bob's."""
    with _world(tmp_path, publish) as world:
        for route in ORDER:
            answer = _call(world.client, route, world.ids, world.alice)
            assert answer.status_code < 300, (route, answer.text)
