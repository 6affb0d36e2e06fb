"""Market data: upload a CSV into the caller's own store, list it, upload it again, delete it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from backgrid.service.settings import Settings
from backgrid.service.userdata import user_store

API = "/api/v1"


def daily_csv(days: int) -> str:
    """A valid CSV of ``days`` daily bars from 2024-01-01 (the other tests' upload too)."""
    rows = "".join(f"2024-01-{d:02d},{100 + d},{101 + d},{99 + d},{100.5 + d},1000\n" for d in range(1, days + 1))
    return "time,open,high,low,close,volume\n" + rows


def _upload(client: TestClient, headers: dict[str, str], days: int):
    return client.post(f"{API}/data", files={"file": ("bars.csv", daily_csv(days))},
                       data={"symbol": "ABC", "timeframe": "1d"}, headers=headers)


def test_upload_list_replace_and_delete(client: TestClient, alice, settings: Settings) -> None:
    made = _upload(client, alice, 10)
    assert made.status_code == 201
    series, report = made.json()["series"], made.json()["report"]
    assert (series["symbol"], series["timeframe"], series["source"], series["rows"]) == ("ABC", "1d", "csv", 10)
    assert series["first"].startswith("2024-01-01")
    assert series["last"].startswith("2024-01-10")
    assert (report["ok"], report["rows_in"], report["rows_out"]) == (True, 10, 10)
    me = client.get(f"{API}/auth/me", headers=alice).json()["id"]
    stored = user_store(settings.home, me).read("ABC", "1d")
    assert len(stored) == 10
    assert user_store(settings.home, me).info("ABC", "1d").checksum == series["checksum"]
    again = _upload(client, alice, 20).json()["series"]
    assert (again["id"], again["rows"]) == (series["id"], 20)  # one series per symbol, timeframe and source
    listed = client.get(f"{API}/data", headers=alice).json()
    assert (listed["total"], [s["id"] for s in listed["items"]]) == (1, [series["id"]])
    assert client.delete(f"{API}/data/{series['id']}", headers=alice).status_code == 204
    assert client.get(f"{API}/data", headers=alice).json()["total"] == 0
    assert not list((settings.home / "users" / me).rglob("*.parquet"))
    assert client.delete(f"{API}/data/{series['id']}", headers=alice).status_code == 404
