"""Malformed requests: each is answered with its exact status and code, names the field, and changes nothing.

Every case says the status, the contract's ``code`` and the path its ``details`` must name (``None`` where
the details are not about a field: a missing thing, a refused token); the rows of every table and the
files under the home are counted before and after, and must not have changed.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from backgrid.service.app import create_app
from backgrid.service.security import make_token
from backgrid.service.store import repository
from backgrid.service.store.db import new_id
from backgrid.service.store.models import Base, Run
from backgrid.strategy.document import read_text
from backgrid.strategy.library import library_path
from tests.service.api.conftest import PASSWORD, login, settings_for
from tests.service.api.test_isolation import fill_ids

API = "/api/v1"
MAX_BYTES = 50_000


def _document(change: Callable[[dict[str, Any]], Any] | None = None) -> dict[str, Any]:
    doc = read_text(library_path("sma-cross").read_text())
    if change is not None:
        change(doc)
    return doc


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change that sets the dotted ``path`` of a document to ``value`` (``-`` as the value deletes it)."""

    def change(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = doc
        for part in parents:
            node = node.setdefault(part, {})
        if value == "-":
            del node[last]
        else:
            node[last] = copy.deepcopy(value)

    return change


@dataclass(frozen=True)
class Bad:
    """One malformed request and the answer it must get (``{...}`` in the url and json are the world's ids)."""

    id: str
    method: str
    url: str
    status: int
    code: str
    path: str | None  # what the details must name (None: details are not about a field)
    json: Any = None
    content: bytes | None = None
    files: dict[str, Any] | None = None
    data: dict[str, str] | None = None
    who: str = "alice"  # whose credentials (see World.headers)
    app: str = "open"  # registration open, or by invite
    message: str = ""  # a phrase the error must say


_DOCUMENTS = [
    Bad("document-without-schema-version", "POST", "/strategies", 422, "invalid_document",
        "body.document.schema_version", json={"document": _document(_set("schema_version", "-"))},
        message="required field is missing"),
    Bad("document-unknown-indicator", "POST", "/strategies", 422, "invalid_document",
        "body.document.indicators.fast.id", json={"document": _document(_set("indicators.fast.id", "smaa"))},
        message="did you mean"),
    Bad("document-bad-cross-operand", "POST", "/strategies", 422, "invalid_document",
        "body.document.entries.long.crosses_above[1]",
        json={"document": _document(_set("entries.long", {"crosses_above": ["fast", "slwo"]}))},
        message="'slwo'"),
    Bad("document-stop-percent-out-of-bounds", "POST", "/strategies", 422, "invalid_document",
        "body.document.exits.stop_loss.percent",
        json={"document": _document(_set("exits.stop_loss", {"percent": 500}))}, message="0 < x < 100"),
    Bad("document-commission-over-100", "POST", "/strategies", 422, "invalid_document",
        "body.document.costs.commission_percent",
        json={"document": _document(_set("costs.commission_percent", 150))}, message="less than 100"),
    Bad("document-unknown-top-field", "POST", "/strategies", 422, "invalid_document", "body.document",
        json={"document": _document(_set("exit", {}))}, message="did you mean 'exits'"),
    Bad("inline-run-document-invalid", "POST", "/runs", 422, "invalid_document",
        "body.document.indicators.fast.id", json={"document": _document(_set("indicators.fast.id", "nope"))}),
    Bad("document-not-an-object", "POST", "/strategies", 422, "invalid_request", "body.document",
        json={"document": [1, 2]}),
]

_TYPES = [
    Bad("name-a-number", "POST", "/strategies", 422, "invalid_request", "body.name",
        json={"document": _document(), "name": 5}),
    Bad("priority-text", "POST", "/runs", 422, "invalid_request", "body.priority",
        json={"document": _document(), "priority": "high"}),
    Bad("priority-out-of-range", "POST", "/runs", 422, "invalid_request", "body.priority",
        json={"document": _document(), "priority": 1000}),
    Bad("version-zero", "POST", "/runs", 422, "invalid_request", "body.version",
        json={"strategy_id": "{strategy_id}", "version": 0}),
    Bad("version-overflows", "POST", "/runs", 422, "invalid_request", "body.version",
        json={"strategy_id": "{strategy_id}", "version": 10**20}),
    Bad("kind-unknown", "POST", "/runs", 422, "invalid_request", "body.kind", json={"document": _document(),
                                                                                     "kind": "moonshot"}),
    Bad("password-too-short", "POST", "/auth/register", 422, "invalid_request", "body.password",
        json={"email": "new@example.com", "password": "short"}, who="none"),
    Bad("email-without-at", "POST", "/auth/register", 422, "invalid_request", "body.email",
        json={"email": "nobody.example.com", "password": PASSWORD}, who="none"),
    Bad("rating-over-five", "POST", "/feedback", 422, "invalid_request", "body.rating",
        json={"text": "great", "rating": 9}),
    Bad("event-name-bad", "POST", "/events", 422, "invalid_request", "body.name", json={"name": "Bad Name"}),
    Bad("strategy-id-and-document", "POST", "/runs", 422, "invalid_request", "body.strategy_id",
        json={"strategy_id": "{strategy_id}", "document": _document()}),
    Bad("neither-strategy-id-nor-document", "POST", "/runs", 422, "invalid_request", "body.strategy_id", json={}),
]

_UNKNOWN_FIELDS = [
    Bad("strategy-unknown-field", "POST", "/strategies", 422, "invalid_request", "body.colour",
        json={"document": _document(), "colour": "red"}, message="Extra inputs are not permitted"),
    Bad("run-unknown-field", "POST", "/runs", 422, "invalid_request", "body.sweep",
        json={"document": _document(), "sweep": {"fast": [5]}}),
    Bad("login-unknown-field", "POST", "/auth/login", 422, "invalid_request", "body.remember",
        json={"email": "alice@example.com", "password": PASSWORD, "remember": True}, who="none"),
]

_BODIES = [
    Bad("too-large-by-length", "POST", "/strategies", 413, "too_large", None,
        content=b'{"document": {"pad": "' + b"x" * MAX_BYTES + b'"}}'),
    Bad("json-cut-short", "POST", "/strategies", 422, "invalid_request", "body.13", content=b'{"document": '),
    Bad("json-not-utf8", "POST", "/strategies", 422, "invalid_request", "body", content=b'{"document": "\xff\xfe"}'),
]

_IDS = [
    Bad("unknown-run", "GET", "/runs/{random}", 404, "not_found", None),
    Bad("unknown-strategy-version", "GET", "/strategies/{strategy_id}/versions/9", 404, "not_found", None),
    Bad("unknown-strategy-to-run", "POST", "/runs", 404, "not_found", None, json={"strategy_id": "{random}"}),
    Bad("unknown-run-in-feedback", "POST", "/feedback", 404, "not_found", "body.run_id",
        json={"text": "hm", "run_id": "{random}"}),
    Bad("unknown-artifact", "GET", "/runs/{run_id}/artifacts/report.pdf", 404, "not_found", None),
    Bad("diff-with-a-missing-version", "GET", "/strategies/{strategy_id}/diff?a=1&b=7", 404, "not_found", None,
        message="no version 7"),
    Bad("unknown-indicator", "GET", "/indicators/nope", 404, "not_found", None),
]

_CREDENTIALS = [
    Bad("expired-token", "GET", "/auth/me", 401, "not_authenticated", None, who="expired", message="expired"),
    Bad("refresh-token-as-access", "GET", "/auth/me", 401, "not_authenticated", None, who="refresh",
        message="expected an access token"),
    Bad("token-of-another-key", "GET", "/auth/me", 401, "not_authenticated", None, who="foreign",
        message="not valid"),
    Bad("revoked-api-key", "GET", "/auth/me", 401, "not_authenticated", None, who="revoked",
        message="revoked"),
    Bad("no-credentials", "GET", "/runs", 401, "not_authenticated", None, who="none"),
    Bad("access-token-to-refresh", "POST", "/auth/refresh", 401, "not_authenticated", None,
        json={"refresh_token": "{access_token}"}, who="none", message="expected an refresh token"),
    Bad("wrong-password", "POST", "/auth/login", 401, "bad_credentials", None,
        json={"email": "alice@example.com", "password": "not the password"}, who="none"),
    Bad("duplicate-email", "POST", "/auth/register", 409, "email_taken", "body.email",
        json={"email": "ALICE@example.com", "password": PASSWORD}, who="none"),
    Bad("invite-missing", "POST", "/auth/register", 403, "invite_required", "body.invite",
        json={"email": "carol@example.com", "password": PASSWORD}, who="none", app="invite"),
    Bad("invite-used", "POST", "/auth/register", 403, "invite_invalid", "body.invite",
        json={"email": "carol@example.com", "password": PASSWORD, "invite": "{used_invite}"}, who="none",
        app="invite"),
    Bad("invite-unknown", "POST", "/auth/register", 403, "invite_invalid", "body.invite",
        json={"email": "carol@example.com", "password": PASSWORD, "invite": "0123456789abcdef"}, who="none",
        app="invite"),
    Bad("invites-not-admin", "POST", "/invites", 403, "forbidden", None),
    Bad("funnel-not-admin", "GET", "/admin/funnel?steps=signed_up", 403, "forbidden", None),
]

_QUERIES = [
    Bad("limit-zero", "GET", "/runs?limit=0", 422, "invalid_request", "query.limit"),
    Bad("limit-501", "GET", "/strategies?limit=501", 422, "invalid_request", "query.limit"),
    Bad("offset-negative", "GET", "/data?offset=-1", 422, "invalid_request", "query.offset"),
    Bad("limit-text", "GET", "/runs/{run_id}/trades?limit=ten", 422, "invalid_request", "query.limit"),
    Bad("status-filter-unknown", "GET", "/runs?status=done", 422, "invalid_request", "query.status"),
    Bad("kind-filter-unknown", "GET", "/runs?kind=moonshot", 422, "invalid_request", "query.kind"),
    Bad("category-unknown", "GET", "/indicators?category=astrology", 422, "invalid_request", "query.category"),
    Bad("compare-one-run", "GET", "/runs/compare?ids={run_id}", 422, "invalid_request", "query.ids"),
    Bad("version-number-overflows", "GET", "/strategies/{strategy_id}/versions/100000000000000000000", 422,
        "invalid_request", "path.number"),
    Bad("diff-version-overflows", "GET", "/strategies/{strategy_id}/diff?a=1&b=100000000000000000000", 422,
        "invalid_request", "query.b"),
    Bad("equity-two-points", "GET", "/runs/{run_id}/equity?points=2", 422, "invalid_request", "query.points"),
]

_RUNS = [
    Bad("sweep-undeclared-parameter", "POST", "/runs", 422, "invalid_request", "body.options.sweep.fastest",
        json={"document": _document(), "kind": "sweep", "options": {"sweep": {"fastest": [5, 10]}}},
        message="did you mean 'fast'"),
    Bad("sweep-outside-the-range", "POST", "/runs", 422, "invalid_request", "body.options.sweep.fast",
        json={"document": _document(), "kind": "sweep", "options": {"sweep": {"fast": [5, 500]}}},
        message="outside the declared range"),
    Bad("sweep-not-an-object", "POST", "/runs", 422, "invalid_request", "body.options.sweep",
        json={"document": _document(), "kind": "sweep", "options": {"sweep": [5, 10]}}),
    Bad("cancel-a-finished-run", "POST", "/runs/{run_id}/cancel", 409, "finished", None),
    Bad("delete-a-running-run", "DELETE", "/runs/{running_run}", 409, "not_finished", None),
    Bad("results-of-a-running-run", "GET", "/runs/{running_run}/results", 409, "no_results", None),
    Bad("name-taken", "POST", "/strategies", 409, "name_taken", "body.name", json={"document": _document()}),
]

_CSV_HEAD = "time,open,high,low,close,volume\n"
_UPLOADS = [
    Bad("csv-high-below-low", "POST", "/data", 422, "invalid_data", None,
        files={"file": ("bad.csv", _CSV_HEAD + "2024-01-01,100,99,101,100,10\n2024-01-01,100,101,99,100,10\n")},
        data={"symbol": "BAD", "timeframe": "1d"}, message="failed validation"),
    Bad("csv-no-rows", "POST", "/data", 422, "invalid_data", "body.file",
        files={"file": ("empty.csv", _CSV_HEAD)}, data={"symbol": "BAD", "timeframe": "1d"}),
    Bad("csv-bad-timeframe", "POST", "/data", 422, "invalid_request", "body.timeframe",
        files={"file": ("a.csv", _CSV_HEAD + "2024-01-01,1,2,0.5,1.5,10\n")}, data={"symbol": "A", "timeframe": "7x"}),
    Bad("csv-bad-symbol", "POST", "/data", 422, "invalid_request", "body.symbol",
        files={"file": ("a.csv", _CSV_HEAD)}, data={"symbol": "../etc", "timeframe": "1d"}),
    Bad("csv-without-file", "POST", "/data", 422, "invalid_request", "body.file", data={"symbol": "A",
                                                                                       "timeframe": "1d"}),
]

CASES = _DOCUMENTS + _TYPES + _UNKNOWN_FIELDS + _BODIES + _IDS + _CREDENTIALS + _QUERIES + _RUNS + _UPLOADS


@dataclass
class World:
    """An app and what the cases refer to."""

    client: TestClient
    home: Path
    headers: dict[str, dict[str, str]]
    ids: dict[str, str] = field(default_factory=dict)


@contextmanager
def _open_world(tmp: Path, publish: Callable[[TestClient, str], None]) -> Iterator[World]:
    settings = settings_for(tmp, max_request_bytes=MAX_BYTES)
    with TestClient(create_app(settings)) as client:
        alice = login(client, "alice@example.com")
        key = settings.signing_key()
        store = client.app.state.context.store  # type: ignore[attr-defined]
        me = client.get(f"{API}/auth/me", headers=alice).json()["id"]
        made = client.post(f"{API}/auth/keys", json={"name": "old"}, headers=alice).json()
        assert client.delete(f"{API}/auth/keys/{made['id']}", headers=alice).status_code == 204
        strategy = client.post(f"{API}/strategies", json={"document": _document()}, headers=alice).json()["id"]
        run_id, running = (client.post(f"{API}/runs", json={"strategy_id": strategy}, headers=alice).json()["id"]
                           for _ in range(2))
        publish(client, run_id)
        with store.session() as session:
            session.execute(sa.update(Run).where(Run.id == running).values(status="running"))
        headers = {
            "alice": alice, "none": {},
            "expired": {"Authorization": f"Bearer {make_token(me, 'access', key=key, seconds=-10)}"},
            "refresh": {"Authorization": f"Bearer {make_token(me, 'refresh', key=key, seconds=600)}"},
            "foreign": {"Authorization": f"Bearer {make_token(me, 'access', key='another-' + 'k' * 32, seconds=600)}"},
            "revoked": {"X-API-Key": made["key"]},
        }
        yield World(client, tmp, headers, {"strategy_id": strategy, "run_id": run_id, "running_run": running,
                                           "random": new_id(), "access_token": alice["Authorization"][7:]})


@contextmanager
def _invite_world(tmp: Path) -> Iterator[World]:
    with TestClient(create_app(settings_for(tmp).model_copy(update={"registration": "invite"}))) as client:
        store = client.app.state.context.store  # type: ignore[attr-defined]
        with store.session() as session:
            admin = repository.create_user(session, email="admin@example.com", password_hash="!",  # noqa: S106  # no hash: nobody logs in
                                           role="admin")
            repository.create_invite(session, created_by=admin.id, code="used0123456789ab")
            assert repository.use_invite(session, "used0123456789ab", admin.id)
        yield World(client, tmp, {"none": {}}, {"used_invite": "used0123456789ab"})


@pytest.fixture(scope="module")
def worlds(tmp_path_factory, publish) -> Iterator[dict[str, World]]:
    with ExitStack() as stack:
        yield {"open": stack.enter_context(_open_world(tmp_path_factory.mktemp("open"), publish)),
               "invite": stack.enter_context(_invite_world(tmp_path_factory.mktemp("invite")))}


def _counts(world: World) -> tuple[dict[str, int], list[str]]:
    store = world.client.app.state.context.store  # type: ignore[attr-defined]
    with store.engine.connect() as connection:
        rows = {t.name: connection.scalar(sa.select(sa.func.count()).select_from(t)) or 0
                for t in Base.metadata.sorted_tables}
    files = sorted(str(p.relative_to(world.home)) for p in world.home.rglob("*")
                   if p.is_file() and not p.name.startswith("service.sqlite"))
    return rows, files


def test_there_are_at_least_thirty() -> None:
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_malformed_request(worlds: dict[str, World], case: Bad) -> None:
    world = worlds[case.app]
    before = _counts(world)
    headers = dict(world.headers[case.who])
    if case.content is not None:
        headers["Content-Type"] = "application/json"
    answer = world.client.request(case.method, API + fill_ids(case.url, world.ids), headers=headers,
                                  json=fill_ids(case.json, world.ids) if case.json is not None else None,
                                  content=case.content, files=case.files, data=case.data)
    got = answer.json()
    assert (answer.status_code, got["code"]) == (case.status, case.code), got
    assert set(got) == {"error", "code", "details"}
    assert case.message in got["error"]
    if case.path is not None:
        assert case.path in [d["path"] for d in got["details"]], got["details"]
    assert _counts(world) == before


def test_too_large_when_chunked(worlds: dict[str, World]) -> None:
    world = worlds["open"]
    before = _counts(world)

    def chunks() -> Iterator[bytes]:
        yield b'{"document": {"pad": "'
        for _ in range(MAX_BYTES // 1000 + 1):
            yield b"x" * 1000
        yield b'"}}'

    answer = world.client.post(f"{API}/strategies", content=chunks(),
                               headers={**world.headers["alice"], "Content-Type": "application/json"})
    assert "content-length" not in {k.lower() for k in answer.request.headers}
    assert answer.status_code == 413
    assert answer.json() == {"error": f"the request body is larger than {MAX_BYTES:,} bytes", "code": "too_large",
                             "details": {"max_bytes": MAX_BYTES}}
    assert _counts(world) == before


def test_a_refused_csv_reports_every_finding_and_stores_nothing(worlds: dict[str, World]) -> None:
    world = worlds["open"]
    csv = _CSV_HEAD + "2024-01-01,100,99,101,100,10\n2024-01-01,100,101,99,100,10\n"
    answer = world.client.post(f"{API}/data", files={"file": ("bad.csv", csv)},
                               data={"symbol": "BAD", "timeframe": "1d"}, headers=world.headers["alice"])
    report = answer.json()["details"]
    assert report["ok"] is False
    assert {(f["check"], f["severity"], f["rows"][0]) for f in report["findings"]} == {
        ("high_low", "error", 0), ("duplicate_timestamp", "error", 1)}
    assert not list(world.home.glob("users/*/data/**/BAD*"))
    assert world.client.get(f"{API}/data", headers=world.headers["alice"]).json()["total"] == 0


def test_bad_json_names_where_it_broke(worlds: dict[str, World]) -> None:
    world = worlds["open"]
    answer = world.client.post(f"{API}/strategies", content=json.dumps({"document": {}})[:-3].encode(),
                               headers={**world.headers["alice"], "Content-Type": "application/json"})
    assert answer.status_code == 422
    assert answer.json()["details"][0]["message"] == "JSON decode error"
