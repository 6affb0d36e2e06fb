"""An API over a fresh SQLite store under tmp_path, in users mode (accounts and tokens) unless a test asks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from backgrid.service.app import create_app
from backgrid.service.settings import Settings

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
