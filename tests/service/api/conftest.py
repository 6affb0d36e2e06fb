"""An API over a fresh SQLite store under tmp_path, in users mode (accounts and tokens) unless a test asks."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backgrid.data.sources.demo import demo_bars
from backgrid.service.app import create_app
from backgrid.service.settings import Settings
from backgrid.service.store.db import Store, new_id, now
from backgrid.service.store.models import Artifact, Run
from backgrid.strategy import run
from backgrid.strategy.library import load_library

PASSWORD = "correct horse battery"  # noqa: S105  # a test account's


def settings_for(tmp_path, **changes) -> Settings:
    return Settings(home=tmp_path, auth="users", registration="open", workers=0,
                    secret_key="test-key-" + "x" * 32, **changes)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return settings_for(tmp_path)


@pytest.fixture
def client(settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def login(client: TestClient, email: str) -> dict[str, str]:
    """Register ``email`` and return the headers of its access token."""
    assert client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD}).status_code == 201
    tokens = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}).json()
    return {"Authorization": f"Bearer {tokens['access_token']}"}


@pytest.fixture
def alice(client) -> dict[str, str]:
    return login(client, "alice@example.com")


@pytest.fixture
def bob(client) -> dict[str, str]:
    return login(client, "bob@example.com")


# -- fixtures added for the API's flow, isolation and malformed-request tests ------------------------------------

@pytest.fixture(scope="session")
def result_file(tmp_path_factory) -> Path:
    """A real result written by ``Result.save``: sma-cross on the demo SPY days (computed once per session)."""
    result = run(load_library("sma-cross"), demo_bars("DEMO-SPY", "1d"))
    return result.save(tmp_path_factory.mktemp("result") / "result.npz")


@pytest.fixture(scope="session")
def publish(result_file) -> Callable[[TestClient, str], None]:
    """Finish a run as a worker would: ``succeeded``, with ``result.npz`` among its artifacts."""

    def finish(client: TestClient, run_id: str) -> None:
        context = client.app.state.context  # type: ignore[attr-defined]
        folder = context.settings.artifacts / run_id
        folder.mkdir(parents=True, exist_ok=True)
        data = result_file.read_bytes()
        (folder / "result.npz").write_bytes(data)
        with context.store.session() as session:
            row = session.get(Run, run_id)
            row.status, row.progress, row.message = "succeeded", 1.0, "done"
            row.started_at = row.finished_at = now()
            session.add(Artifact(id=new_id(), run_id=run_id, name="result.npz", media_type="application/octet-stream",
                                 size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                                 path=f"{run_id}/result.npz", created_at=now()))

    return finish


@pytest.fixture
def store(client) -> Store:
    """The store the app of ``client`` writes to."""
    return client.app.state.context.store  # type: ignore[no-any-return]
