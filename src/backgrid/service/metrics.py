"""The service's Prometheus metrics, on a registry of its own (two apps in one process, or tests, never clash).

=======================================  ======================================================
``backgrid_http_requests_total``         requests by ``method``, ``route`` (the path template) and ``status``
``backgrid_http_request_seconds``        request latency by ``method`` and ``route`` (a histogram)
``backgrid_job_seconds``                 a job's run time by ``kind`` and final ``status`` (a histogram)
``backgrid_cache_hits_total``            lookups a ``cache`` answered (and ``..._misses_total``, those it did not)
``backgrid_runs``                        runs in each state, read from the store at each scrape
``backgrid_queue_depth``                 queued runs of each queue, read from the store at each scrape
``backgrid_queue_oldest_seconds``        age of each queue's oldest queued run (0 when empty): a stuck queue grows
``backgrid_store_up``                    1 when the scrape could read the store, else 0
=======================================  ======================================================

The route label is the matched route's template (``/runs/{run_id}``), never the raw path, so the number of
series stays bounded whatever clients ask for; a request that matched no route counts as ``<unmatched>``.

    metrics = Metrics(store)
    app.add_middleware(Instrument, metrics=metrics)
    body, content_type = render(metrics.registry)
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import sqlalchemy as sa
import structlog
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.routing import Mount

from backgrid.service.store.db import now
from backgrid.service.store.models import QUEUES, RUN_STATES, Run

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from prometheus_client.metrics_core import Metric
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from backgrid.service.store.db import Store

__all__ = ["UNMATCHED", "Instrument", "Metrics", "RunsCollector", "render", "route_template"]

UNMATCHED = "<unmatched>"
#: seconds; API calls are fast, so the buckets are fine below a second
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: seconds; a job runs from a fraction of a second (one backtest) to hours (a large sweep)
JOB_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0)


class RunsCollector(Collector):
    """Runs by state, queue depth and age, counted in the store when Prometheus scrapes (two grouped queries)."""

    def __init__(self, store: Store, *, clock: Callable[[], float] = now) -> None:
        self.store = store
        self.clock = clock
        self.log = structlog.get_logger("backgrid.service.metrics")

    def describe(self) -> Iterable[Metric]:
        """The families :meth:`collect` yields, without reading the store (the registry checks names with it)."""
        return self._families()

    def collect(self) -> Iterable[Metric]:
        """Read the counts from the store; a store that cannot be read reports ``backgrid_store_up 0``."""
        runs, queued, oldest, up = self._families()
        try:
            with self.store.engine.connect() as connection:
                by_state = dict(connection.execute(sa.select(Run.status, sa.func.count()).group_by(Run.status)).all())
                by_queue = {queue: (count, first) for queue, count, first in connection.execute(
                    sa.select(Run.queue, sa.func.count(), sa.func.min(Run.created_at))
                    .where(Run.status == "queued").group_by(Run.queue))}
        except sa.exc.SQLAlchemyError as exc:  # the scrape still answers, so an alert can fire on store_up
            self.log.warning("metrics could not read the store", error=str(exc))
            up.add_metric([], 0)
            return [up]
        at = self.clock()
        for state in dict.fromkeys([*RUN_STATES, *by_state]):
            runs.add_metric([state], by_state.get(state, 0))
        for queue in dict.fromkeys([*QUEUES, *by_queue]):
            count, first = by_queue.get(queue, (0, None))
            queued.add_metric([queue], count)
            oldest.add_metric([queue], 0.0 if first is None else max(at - first, 0.0))
        up.add_metric([], 1)
        return [runs, queued, oldest, up]

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
        return (GaugeMetricFamily("backgrid_runs", "Runs in each state.", labels=["status"]),
                GaugeMetricFamily("backgrid_queue_depth", "Queued runs of each queue.", labels=["queue"]),
                GaugeMetricFamily("backgrid_queue_oldest_seconds", "Age of the oldest queued run of each queue.",
                                  labels=["queue"]),
                GaugeMetricFamily("backgrid_store_up", "1 when the metrics could read the store."))


class Metrics:
    """The service's meters, on ``registry`` (default: a new one); with a ``store``, its runs (aged by ``clock``)."""

    def __init__(self, store: Store | None = None, *, registry: CollectorRegistry | None = None,
                 clock: Callable[[], float] = now) -> None:
        self.registry = CollectorRegistry() if registry is None else registry
        self.requests = Counter("backgrid_http_requests", "HTTP requests answered.",
                                ["method", "route", "status"], registry=self.registry)
        self.request_seconds = Histogram("backgrid_http_request_seconds", "Time to answer an HTTP request.",
                                         ["method", "route"], buckets=REQUEST_BUCKETS, registry=self.registry)
        self.job_seconds = Histogram("backgrid_job_seconds", "Time a job ran, by kind and final status.",
                                     ["kind", "status"], buckets=JOB_BUCKETS, registry=self.registry)
        self.cache_hits = Counter("backgrid_cache_hits", "Lookups a cache answered.", ["cache"],
                                  registry=self.registry)
        self.cache_misses = Counter("backgrid_cache_misses", "Lookups a cache could not answer.", ["cache"],
                                    registry=self.registry)
        if store is not None:
            self.registry.register(RunsCollector(store, clock=clock))
        self._finished_after = clock()  # jobs that finished before this process started were counted by its past

    def observe_finished(self, store: Store) -> int:
        """Observe the jobs that finished since the last call, from the store (workers are other processes).

        Returns how many were observed.
        """
        query = (sa.select(Run.kind, Run.status, Run.started_at, Run.finished_at)
                 .where(Run.finished_at > self._finished_after, Run.started_at.is_not(None))
                 .order_by(Run.finished_at))
        with store.session() as session:
            rows = session.execute(query).all()
        for kind, status, started, finished in rows:
            if started is not None and finished is not None:  # both are, by the query; the columns may be null
                self.observe_job(kind, status, finished - started)
                self._finished_after = finished
        return len(rows)

    def observe_job(self, kind: str, status: str, seconds: float) -> None:
        """Count one finished job of ``kind`` that ended ``status`` after ``seconds``."""
        self.job_seconds.labels(kind, status).observe(seconds)

    def cache(self, name: str, *, hit: bool) -> None:
        """Count one lookup of cache ``name``."""
        (self.cache_hits if hit else self.cache_misses).labels(name).inc()


def render(registry: CollectorRegistry) -> tuple[bytes, str]:
    """The text exposition of ``registry`` and its content type, the body of ``GET /metrics``."""
    return generate_latest(registry), CONTENT_TYPE_LATEST


def route_template(scope: Scope) -> str:
    """The path template of the route that ``scope`` matched (after the app ran), else :data:`UNMATCHED`.

    Inside a :class:`~starlette.routing.Mount` it is the mount's path and then the inner route's template;
    an app mounted whole (static files), or a path no route of a mounted app matched, is ``<mount>/{path}``
    (FastAPI's own ``http.route``). A mount's path is read back from what it matched, so a mount with a
    parameter in its path would count each value apart (the service mounts none).
    """
    # each mount on the way in appended what it matched to root_path (app_root_path: root_path before them)
    root: str = scope.get("root_path", "")
    mounted = root[len(scope.get("app_root_path", root)):]
    route = scope.get("route")
    # FastAPI keeps an included router's routes with their own paths and puts the route with the router's
    # prefixes in this context (not a documented key: without it, a route's own path is taken)
    effective = scope.get("fastapi", {}).get("effective_route_context")
    path = getattr(effective, "path_format", None) or getattr(route, "path", None)
    if isinstance(path, str) and not isinstance(route, Mount):
        return mounted + path
    return f"{mounted}/{{path}}" if mounted else UNMATCHED


class Instrument:
    """ASGI middleware: count and time every HTTP request by method, route template and status."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection; only HTTP requests are measured."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the client gets when the app raises before answering
        start = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = route_template(scope)
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.request_seconds.labels(scope["method"], route).observe(time.perf_counter() - start)
