"""The API over PostgreSQL (a database of its own, dropped after): values SQLite stores and PostgreSQL refuses.

PostgreSQL refuses text with a NUL character and NaN in JSON; the API answers 422 ``invalid_value`` for
them (it was a 500) and stores nothing. Skipped when the server at ``POSTGRES`` does not answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from backgrid.service.app import create_app
from backgrid.service.store.db import new_id
from backgrid.service.store.models import Base
from backgrid.strategy.document import read_text
from backgrid.strategy.library import library_path
from tests.service.api.conftest import login, settings_for

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
API = "/api/v1"


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    server = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            name = f"apitests_{new_id()[:12]}"
            connection.execute(sa.text(f"CREATE DATABASE {name}"))
    except sa.exc.OperationalError as exc:
        pytest.skip(f"no PostgreSQL at {POSTGRES}: {type(exc).__name__}")
    try:
        yield POSTGRES.rsplit("/", 1)[0] + "/" + name
    finally:
        with server.connect() as connection:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        server.dispose()


@pytest.fixture(scope="module")
def pg(tmp_path_factory, database: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    app = create_app(settings_for(tmp_path_factory.mktemp("pg"), database_url=database))
    with TestClient(app) as client:
        yield client, login(client, "alice@example.com")


def _counts(client: TestClient) -> dict[str, int]:
    store = client.app.state.context.store  # type: ignore[attr-defined]
    with store.engine.connect() as connection:
        return {t.name: connection.scalar(sa.select(sa.func.count()).select_from(t)) or 0
                for t in Base.metadata.sorted_tables}


_DOCUMENT = read_text(library_path("sma-cross").read_text())


@pytest.mark.parametrize(("method", "url", "body"), [
    ("POST", "/feedback", {"text": "a\x00b"}),
    ("POST", "/events", {"name": "opened", "properties": {"where": "\x00"}}),
    ("POST", "/auth/keys", {"name": "a\x00b"}),
    ("POST", "/strategies", {"document": {**_DOCUMENT, "description": "a\x00b"}}),
    ("POST", "/runs", {"document": _DOCUMENT, "options": {"report": float("nan")}}),
    ("GET", "/runs/%00", None),
    ("GET", "/runs?strategy_id=%00", None),
], ids=["feedback-nul", "event-nul", "key-nul", "document-nul", "options-nan", "path-nul", "query-nul"])
def test_values_postgresql_refuses_are_422(pg, method: str, url: str, body: Any) -> None:
    client, alice = pg
    before = _counts(client)
    content = None if body is None else json.dumps(body).encode()  # json.dumps writes NaN, as JavaScript may not
    answer = client.request(method, API + url, content=content, headers={**alice, "Content-Type": "application/json"})
    assert (answer.status_code, answer.json()["code"]) == (422, "invalid_value")
    assert _counts(client) == before


def test_the_api_works_over_postgresql(pg) -> None:
    client, alice = pg
    made = client.post(f"{API}/strategies", json={"document": _DOCUMENT, "name": "on postgres"}, headers=alice)
    assert made.status_code == 201
    run = client.post(f"{API}/runs", json={"strategy_id": made.json()["id"]}, headers=alice)
    assert run.status_code == 202
    assert client.get(f"{API}/runs?strategy_id={made.json()['id']}", headers=alice).json()["total"] == 1
