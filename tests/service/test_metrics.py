"""The service's metrics: requests by route template, jobs, caches, and the runs counted in the store."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Response
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from starlette.responses import PlainTextResponse

from backgrid.service.metrics import UNMATCHED, Instrument, Metrics, render
from backgrid.service.store.db import Store, new_id, now
from backgrid.service.store.models import Run, User

if TYPE_CHECKING:
    from pathlib import Path

    from starlette.types import Receive, Scope, Send


def _app(metrics: Metrics) -> FastAPI:
    app = FastAPI()

    @app.get("/runs/{run_id}")
    def get_run(run_id: str) -> dict[str, str]:
        return {"id": run_id}

    jobs = APIRouter(prefix="/jobs")

    @jobs.get("/{job_id}")
    def get_job(job_id: str) -> dict[str, str]:
        return {"id": job_id}

    @app.get("/metrics")
    def scrape() -> Response:
        body, content_type = render(metrics.registry)
        return Response(body, media_type=content_type)

    async def files(scope: Scope, receive: Receive, send: Send) -> None:
        await PlainTextResponse("file")(scope, receive, send)

    app.include_router(jobs, prefix="/api")
    app.mount("/static", files)
    app.add_middleware(Instrument, metrics=metrics)
    return app


def _get(app: FastAPI, *paths: str) -> list[httpx.Response]:
    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test") as client:
            return [await client.get(path) for path in paths]

    return asyncio.run(run())


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition: ``(name, sorted labels) -> value``."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_requests_are_counted_by_route_template() -> None:
    metrics = Metrics()
    app = _app(metrics)
    answers = _get(app, "/runs/a", "/runs/b", "/api/jobs/7", "/static/app.js", "/nowhere", "/nowhere/else")
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 404, 404]
    (scrape,) = _get(app, "/metrics")
    assert scrape.headers["content-type"].startswith("text/plain; version=")
    samples = _samples(scrape.text)

    def requests(route: str, status: str) -> float | None:
        return samples.get(("backgrid_http_requests_total", (("method", "GET"), ("route", route), ("status", status))))

    assert requests("/runs/{run_id}", "200") == 2
    assert requests("/api/jobs/{job_id}", "200") == 1  # the routers' prefixes included
    assert requests("/static/{path}", "200") == 1
    assert requests(UNMATCHED, "404") == 2
    routes = {dict(labels).get("route") for (_, labels) in samples}
    assert not {"/runs/a", "/runs/b", "/api/jobs/7", "/nowhere"} & routes  # never a raw path
    latency = (("method", "GET"), ("route", "/runs/{run_id}"))
    assert samples[("backgrid_http_request_seconds_count", latency)] == 2
    assert 0 < samples[("backgrid_http_request_seconds_sum", latency)] < 5
    assert samples[("backgrid_http_request_seconds_bucket", (("le", "+Inf"), *latency))] == 2


def test_jobs_and_caches_are_counted() -> None:
    metrics = Metrics()
    metrics.observe_job("backtest", "succeeded", 0.3)
    metrics.observe_job("backtest", "succeeded", 42.0)
    metrics.observe_job("sweep", "failed", 2.0)
    metrics.cache("bars", hit=True)
    metrics.cache("bars", hit=True)
    metrics.cache("bars", hit=False)
    value = metrics.registry.get_sample_value
    ok = {"kind": "backtest", "status": "succeeded"}
    assert value("backgrid_job_seconds_count", ok) == 2
    assert value("backgrid_job_seconds_sum", ok) == pytest.approx(42.3)
    assert value("backgrid_job_seconds_bucket", {**ok, "le": "0.5"}) == 1
    assert value("backgrid_job_seconds_bucket", {**ok, "le": "60.0"}) == 2
    assert value("backgrid_job_seconds_count", {"kind": "sweep", "status": "failed"}) == 1
    assert value("backgrid_cache_hits_total", {"cache": "bars"}) == 2
    assert value("backgrid_cache_misses_total", {"cache": "bars"}) == 1


def test_registries_are_apart() -> None:
    one, two = Metrics(), Metrics()  # a second app in the process: no "duplicated timeseries"
    one.cache("bars", hit=True)
    assert one.registry.get_sample_value("backgrid_cache_hits_total", {"cache": "bars"}) == 1
    assert two.registry.get_sample_value("backgrid_cache_hits_total", {"cache": "bars"}) is None
    assert REGISTRY.get_sample_value("backgrid_cache_hits_total", {"cache": "bars"}) is None


def _store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'service.sqlite'}")
    store.migrate()
    return store


def test_runs_by_state_and_queue_depth_are_read_at_scrape(tmp_path: Path) -> None:
    store = _store(tmp_path)
    metrics = Metrics(store, clock=lambda: 1000.0)
    runs = [("manual", "queued", 900.0), ("manual", "queued", 990.0), ("scheduled", "queued", 995.0),
            ("manual", "running", 100.0), ("manual", "succeeded", 0.0), ("scheduled", "succeeded", 0.0),
            ("manual", "dead", 0.0)]
    with store.session() as session:
        user = User(id=new_id(), email="a@example.com", password_hash="!", created_at=now())  # noqa: S106
        session.add(user)
        session.flush()  # no relationships in the models: the user goes in first
        session.add_all(Run(id=new_id(), user_id=user.id, kind="backtest", queue=queue, status=status, request={},
                            created_at=created_at) for queue, status, created_at in runs)
    samples = _samples(render(metrics.registry)[0].decode())
    assert {dict(labels)["status"]: v for (name, labels), v in samples.items() if name == "backgrid_runs"} == {
        "queued": 3, "running": 1, "succeeded": 2, "failed": 0, "cancelled": 0, "dead": 1}
    assert {dict(labels)["queue"]: v for (name, labels), v in samples.items() if name == "backgrid_queue_depth"} == {
        "manual": 2, "scheduled": 1}
    assert {dict(labels)["queue"]: v for (name, labels), v in samples.items()
            if name == "backgrid_queue_oldest_seconds"} == {"manual": 100.0, "scheduled": 5.0}
    assert samples[("backgrid_store_up", ())] == 1
    with store.session() as session:  # read again at the next scrape, not cached
        session.query(Run).filter(Run.status == "queued").update({"status": "running"})
    assert metrics.registry.get_sample_value("backgrid_runs", {"status": "running"}) == 4
    assert metrics.registry.get_sample_value("backgrid_queue_depth", {"queue": "manual"}) == 0
    assert metrics.registry.get_sample_value("backgrid_queue_oldest_seconds", {"queue": "manual"}) == 0
    store.dispose()


def test_a_store_that_cannot_be_read_says_so(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'empty.sqlite'}")  # never migrated: no runs table
    metrics = Metrics(store)
    samples = _samples(render(metrics.registry)[0].decode())
    assert samples[("backgrid_store_up", ())] == 0
    assert {name for name, _ in samples} == {"backgrid_store_up"}
    store.dispose()
