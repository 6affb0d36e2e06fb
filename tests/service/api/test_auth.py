"""Accounts: register, log in, refresh, who am I; API keys; local mode; the rate limit and the run quotas."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from backgrid.service.app import create_app
from backgrid.service.deps import ANONYMOUS_PER_MINUTE
from backgrid.service.security import hash_password
from backgrid.service.settings import Limits, Settings
from backgrid.service.store import repository
from backgrid.strategy.document import read_text
from backgrid.strategy.library import library_path
from tests.service.api.conftest import PASSWORD, login, settings_for

API = "/api/v1"


def test_register_login_refresh_and_me(client: TestClient) -> None:
    made = client.post(f"{API}/auth/register", json={"email": "Dana@Example.com", "password": PASSWORD})
    assert made.status_code == 201
    user = made.json()
    assert (user["email"], user["role"], user["tier"], user["digest"]) == ("dana@example.com", "user", "free", False)
    assert "password" not in str(user)
    assert "hash" not in str(user)
    tokens = client.post(f"{API}/auth/login", json={"email": "dana@example.com", "password": PASSWORD}).json()
    assert (tokens["token_type"], tokens["expires_in"]) == ("bearer", 15 * 60)
    me = client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.json() == user
    again = client.post(f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).json()
    assert again["access_token"] != tokens["access_token"]
    assert client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {again['access_token']}"}).json() == user


def test_an_api_key_is_shown_once_works_and_stops_when_revoked(client: TestClient, alice) -> None:
    made = client.post(f"{API}/auth/keys", json={"name": "nightly"}, headers=alice)
    assert made.status_code == 201
    key = made.json()
    assert key["key"].startswith("bg_")
    assert key["key"].startswith(key["prefix"])
    assert (key["name"], key["revoked"], key["last_used_at"]) == ("nightly", False, None)
    listed = client.get(f"{API}/auth/keys", headers=alice).json()
    assert [k["id"] for k in listed] == [key["id"]]
    assert "key" not in listed[0]
    me = client.get(f"{API}/auth/me", headers={"X-API-Key": key["key"]})
    assert me.json()["email"] == "alice@example.com"
    assert client.get(f"{API}/auth/keys", headers=alice).json()[0]["last_used_at"] is not None
    assert client.delete(f"{API}/auth/keys/{key['id']}", headers=alice).status_code == 204
    refused = client.get(f"{API}/auth/me", headers={"X-API-Key": key["key"]})
    assert (refused.status_code, refused.json()["code"]) == (401, "not_authenticated")
    assert refused.headers["WWW-Authenticate"] == "Bearer"
    assert client.get(f"{API}/auth/keys", headers=alice).json()[0]["revoked"] is True


def test_local_mode_needs_no_token_and_has_one_admin(tmp_path) -> None:
    settings = Settings(home=tmp_path, auth="local", workers=0, secret_key="test-key-" + "x" * 32)
    with TestClient(create_app(settings)) as client:
        me = client.get(f"{API}/auth/me").json()
        assert (me["email"], me["role"], me["tier"]) == ("local@localhost", "admin", "pro")
        assert client.get(f"{API}/auth/me").json()["id"] == me["id"]
        assert client.post(f"{API}/invites").status_code == 201  # the implicit user is the administrator
        document = read_text(library_path("sma-cross").read_text())
        assert client.post(f"{API}/strategies", json={"document": document}).status_code == 201
        assert client.get(f"{API}/strategies").json()["total"] == 1
        # nobody logs in as the local user, whatever the password
        refused = client.post(f"{API}/auth/login", json={"email": "local@localhost", "password": "!"})
        assert refused.status_code == 401


def test_requests_past_the_tiers_limit_get_429_with_retry_after(tmp_path) -> None:
    settings = settings_for(tmp_path, tiers={"free": Limits(requests_per_minute=5)})
    with TestClient(create_app(settings)) as client:
        alice, bob = login(client, "alice@example.com"), login(client, "bob@example.com")
        assert [client.get(f"{API}/auth/me", headers=alice).status_code for _ in range(5)] == [200] * 5
        refused = client.get(f"{API}/auth/me", headers=alice)
        assert refused.status_code == 429
        body = refused.json()
        assert body["code"] == "rate_limited"
        assert body["details"]["limit_per_minute"] == 5
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert int(refused.headers["Retry-After"]) == body["details"]["retry_after"]
        assert client.get(f"{API}/auth/me", headers=bob).status_code == 200  # each user has their own count


def test_anonymous_routes_are_limited_by_address(client: TestClient) -> None:
    # an unknown e-mail: no password is hashed, so the loop is quick
    answers = [client.post(f"{API}/auth/login", json={"email": "x@example.com", "password": "p"}).status_code
               for _ in range(ANONYMOUS_PER_MINUTE + 1)]
    assert answers == [401] * ANONYMOUS_PER_MINUTE + [429]


def _run(client: TestClient, headers: dict[str, str]):
    document = read_text(library_path("sma-cross").read_text())
    return client.post(f"{API}/runs", json={"document": document}, headers=headers)


@pytest.mark.parametrize(("limits", "allowed", "detail", "retry"), [
    (Limits(runs_per_hour=3, concurrent_runs=10), 3, "runs_per_hour", "60"),
    (Limits(runs_per_hour=100, concurrent_runs=2), 2, "concurrent_runs", "5"),
])
def test_run_quotas_answer_429(tmp_path, limits: Limits, allowed: int, detail: str, retry: str) -> None:
    with TestClient(create_app(settings_for(tmp_path, tiers={"free": limits}))) as client:
        alice = login(client, "alice@example.com")
        made = [_run(client, alice) for _ in range(allowed)]
        assert [r.status_code for r in made] == [202] * allowed
        refused = _run(client, alice)
        assert (refused.status_code, refused.json()["code"]) == (429, "quota_exceeded")
        assert refused.json()["details"] == {detail: getattr(limits, detail)}
        assert refused.headers["Retry-After"] == retry
        assert client.get(f"{API}/runs", headers=alice).json()["total"] == allowed
        client.post(f"{API}/runs/{made[0].json()['id']}/cancel", headers=alice)
        # a cancelled run frees a concurrent slot; the hourly count still has it
        assert _run(client, alice).status_code == (202 if detail == "concurrent_runs" else 429)


def _admin(client: TestClient) -> dict[str, str]:
    store = client.app.state.context.store  # type: ignore[attr-defined]
    with store.session() as session:
        repository.create_user(session, email="admin@example.com", password_hash=hash_password(PASSWORD), role="admin")
    tokens = client.post(f"{API}/auth/login", json={"email": "admin@example.com", "password": PASSWORD}).json()
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def test_registration_by_invite_and_the_funnel(tmp_path) -> None:
    with TestClient(create_app(settings_for(tmp_path).model_copy(update={"registration": "invite"}))) as client:
        admin = _admin(client)
        invite = client.post(f"{API}/invites", headers=admin)
        assert invite.status_code == 201
        code = invite.json()["code"]
        assert invite.json()["used_at"] is None
        made = client.post(f"{API}/auth/register", json={"email": "eve@example.com", "password": PASSWORD,
                                                         "invite": code})
        assert made.status_code == 201
        again = client.post(f"{API}/auth/register", json={"email": "fay@example.com", "password": PASSWORD,
                                                          "invite": code})
        assert (again.status_code, again.json()["code"]) == (403, "invite_invalid")
        eve = {"Authorization": "Bearer " + client.post(f"{API}/auth/login", json={
            "email": "eve@example.com", "password": PASSWORD}).json()["access_token"]}
        assert client.post(f"{API}/events", json={"name": "opened_builder", "properties": {"from": "home"}},
                           headers=eve).status_code == 204
        funnel = client.get(f"{API}/admin/funnel?steps=signed_up&steps=opened_builder&steps=run_created",
                            headers=admin).json()
        assert funnel == [{"step": "signed_up", "users": 1}, {"step": "opened_builder", "users": 1},
                          {"step": "run_created", "users": 0}]


def test_closed_registration(tmp_path) -> None:
    with TestClient(create_app(settings_for(tmp_path).model_copy(update={"registration": "closed"}))) as client:
        refused = client.post(f"{API}/auth/register", json={"email": "gil@example.com", "password": PASSWORD})
        assert (refused.status_code, refused.json()["code"]) == (403, "registration_closed")


def test_feedback_about_a_run(client: TestClient, alice) -> None:
    run_id = _run(client, alice).json()["id"]
    made = client.post(f"{API}/feedback", json={"text": "the equity chart is great", "rating": 5, "run_id": run_id},
                       headers=alice)
    assert made.status_code == 201
    assert {k: made.json()[k] for k in ("text", "rating", "run_id")} == {
        "text": "the equity chart is great", "rating": 5, "run_id": run_id}
