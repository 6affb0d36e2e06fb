"""The service's log lines: JSON fields, the context a request or a run binds, masked secrets."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from typing import TYPE_CHECKING, Any, Literal

import httpx
import pytest
import structlog
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from backgrid.service.logs import MASK, LoggingError, RequestContext, bound, configure_logging

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from starlette.requests import Request
    from starlette.types import ASGIApp


@pytest.fixture
def logging_to() -> Iterator[Callable[[Literal["console", "json"], str], io.StringIO]]:
    """Configure logging into a buffer; the root logger and structlog are put back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level

    def configure(fmt: Literal["console", "json"], level: str) -> io.StringIO:
        out = io.StringIO()
        configure_logging(fmt, level, stream=out)
        return out

    yield configure
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


@pytest.fixture
def lines(logging_to: Callable[[Literal["console", "json"], str], io.StringIO]) -> io.StringIO:
    """JSON lines at level info, into a buffer."""
    return logging_to("json", "info")


def _get(app: ASGIApp, *calls: tuple[str, dict[str, str]]) -> list[httpx.Response]:
    """GET each ``(path, headers)`` of ``calls`` from ``app``, one after the other."""
    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return [await client.get(path, headers=headers) for path, headers in calls]

    return asyncio.run(run())


def _read(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_json_line_has_the_time_level_event_and_context(lines: io.StringIO) -> None:
    with bound(run_id="r1", user_id="u1", attempt=None):
        structlog.get_logger().info("run started", kind="backtest")
    structlog.get_logger().warning("after")
    first, second = _read(lines)
    assert first["event"] == "run started"
    assert first["level"] == "info"
    assert first["timestamp"].endswith("Z")
    assert (first["run_id"], first["user_id"], first["kind"]) == ("r1", "u1", "backtest")
    assert "attempt" not in first  # None is left out
    assert "run_id" not in second  # the context ends with the block


def test_the_level_drops_lower_lines_and_bad_settings_are_named(logging_to: Any) -> None:
    out = logging_to("json", "warning")
    structlog.get_logger().info("dropped")
    logging.getLogger("uvicorn.error").info("dropped too")
    structlog.get_logger().error("kept")
    assert [line["event"] for line in _read(out)] == ["kept"]
    with pytest.raises(LoggingError, match=r"log_level must be one of .* got 'loud'"):
        configure_logging("json", "loud")
    with pytest.raises(LoggingError, match="log_format must be 'console' or 'json'; got 'xml'"):
        configure_logging("xml", "info")  # type: ignore[arg-type]


def test_standard_library_loggers_write_json_with_the_context(lines: io.StringIO) -> None:
    with bound(request_id="q1"):
        logging.getLogger("sqlalchemy.engine").warning("slow query %s", "SELECT 1")
    (line,) = _read(lines)
    assert (line["event"], line["level"], line["logger"], line["request_id"]) == (
        "slow query SELECT 1", "warning", "sqlalchemy.engine", "q1")


def test_an_exception_is_written_in_the_line(lines: io.StringIO) -> None:
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        structlog.get_logger().exception("task failed", task="refresh")
    (line,) = _read(lines)
    assert line["level"] == "error"
    assert "ZeroDivisionError: division by zero" in line["exception"]


def test_secrets_are_masked_at_any_depth(lines: io.StringIO) -> None:
    secrets = {"password": "hunter2", "access_token": "t0k"}
    structlog.get_logger().info(
        "login", email="a@example.com", **secrets,
        headers={"Authorization": "Bearer abc", "X-API-Key": "k", "accept": "json"},
        settings=[{"smtp_password": "p", "smtp_host": "mail"}],
        database_url="postgresql+psycopg://app:s3cret@db:5432/backgrid",
        fetched="https://api.example.com/v2/aggs?symbol=AAPL&apiKey=abc123&limit=5 and ?x=1&access_token=zz#top")
    (line,) = _read(lines)
    text = json.dumps(line)
    for secret in ("hunter2", "t0k", "Bearer abc", '"k"', '"p"', "s3cret", "abc123", "zz"):
        assert secret not in text
    assert line["password"] == line["access_token"] == MASK
    assert line["headers"] == {"Authorization": "***", "X-API-Key": "***", "accept": "json"}
    assert line["settings"] == [{"smtp_password": "***", "smtp_host": "mail"}]
    assert line["database_url"] == "postgresql+psycopg://app:***@db:5432/backgrid"
    assert line["fetched"] == ("https://api.example.com/v2/aggs?symbol=AAPL&apiKey=***&limit=5"
                               " and ?x=1&access_token=***#top")
    assert line["email"] == "a@example.com"


def test_a_logged_url_loses_its_credentials(lines: io.StringIO) -> None:
    logging.getLogger("httpx").info("HTTP Request: GET %s", "https://min-api.example.com/data?fsym=BTC&api_key=s3")
    (line,) = _read(lines)
    assert line["event"] == "HTTP Request: GET https://min-api.example.com/data?fsym=BTC&api_key=***"


def _app() -> RequestContext:
    async def hello(request: Request) -> PlainTextResponse:
        structlog.contextvars.bind_contextvars(user_id="u7")  # as the API's auth does
        structlog.get_logger().info("inside", name=request.path_params["name"])
        return PlainTextResponse("hi")

    async def boom(request: Request) -> PlainTextResponse:
        raise RuntimeError(request.url.path)

    return RequestContext(Starlette(routes=[Route("/hello/{name}", hello), Route("/boom", boom)]))


def test_each_request_gets_an_id_and_one_line(lines: io.StringIO) -> None:
    given, made, forged, failed = _get(_app(), ("/hello/ann", {"X-Request-ID": "abc-123"}), ("/hello/bob", {}),
                                       ("/hello/eve", {"X-Request-ID": "bad id;level=error"}), ("/boom", {}))
    assert given.headers["x-request-id"] == "abc-123"
    assert len(made.headers["x-request-id"]) == 32
    assert forged.headers["x-request-id"] not in ("bad id;level=error", made.headers["x-request-id"])
    assert failed.status_code == 500
    records = _read(lines)
    inside = [r for r in records if r["event"] == "inside"]
    requests = [r for r in records if r["event"] == "request"]
    assert [r["request_id"] for r in inside] == [given.headers["x-request-id"], made.headers["x-request-id"],
                                                 forged.headers["x-request-id"]]
    assert [(r["method"], r["path"], r["status"], r["level"]) for r in requests] == [
        ("GET", "/hello/ann", 200, "info"), ("GET", "/hello/bob", 200, "info"), ("GET", "/hello/eve", 200, "info"),
        ("GET", "/boom", 500, "error")]
    assert [r["request_id"] for r in requests] == [h.headers["x-request-id"] for h in (given, made, forged, failed)]
    assert all(isinstance(r["duration_ms"], float) and r["duration_ms"] >= 0 for r in requests)
    assert requests[0]["user_id"] == "u7"  # bound inside the request, on its line
    assert "user_id" not in requests[3]  # and not carried over to the next request
    assert structlog.contextvars.get_contextvars() == {}


def test_the_console_format_is_for_people(logging_to: Any) -> None:
    out = logging_to("console", "debug")
    secrets = {"token": "t0k"}
    structlog.get_logger().debug("hello", n=3, **secrets)
    text = out.getvalue()
    assert "hello" in text
    assert "n=3" in text
    assert "t0k" not in text
    assert "\x1b[" not in text  # no colours when the stream is not a terminal
