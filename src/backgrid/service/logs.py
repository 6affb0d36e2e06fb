"""The service's logs: structlog lines for people (``console``) or machines (``json``), one per event.

Every line carries ``timestamp`` (ISO 8601, UTC), ``level``, ``event`` and what is bound to the context:
``request_id`` (set by :class:`RequestContext` for each HTTP request), ``run_id`` and the like (set by a
worker with :func:`bound`), ``user_id`` (bound by the API once it knows the caller). The standard library's
loggers (uvicorn, SQLAlchemy, Alembic) go through the same renderer, so a JSON log is all JSON.

Secrets never reach a line: a value whose key names one (``password``, ``token``, ``secret``,
``authorization``, ``api_key``, ``cookie``, at any depth of nested dicts) is written ``***``, and so are the
password of a URL (``postgresql://user:***@host/db``) and its query's credentials (``?apiKey=***``), in any
string, the message included.

    configure_logging("json", "info")
    with bound(run_id=run.id):
        structlog.get_logger().info("run started", kind=run.kind)
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal, TextIO

import structlog

from backgrid.errors import BackgridError

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send
    from structlog.typing import EventDict, Processor, WrappedLogger

__all__ = ["LoggingError", "RequestContext", "bound", "configure_logging", "mask_secrets"]

#: a key containing one of these (lower case, ``-`` read as ``_``) has its value masked
SECRET_KEYS = ("password", "passwd", "token", "secret", "authorization", "api_key", "apikey", "cookie")
MASK = "***"
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s]+@", re.IGNORECASE)
#: a URL's query parameter that carries a credential (vendors take ``?apiKey=``, HTTP clients log the URL)
_URL_QUERY_SECRET = re.compile(rf"(?P<head>[?&][^=&\s]*(?:{'|'.join((*SECRET_KEYS, 'key', 'signature'))})"
                               r"[^=&\s]*=)[^&#\s]+", re.IGNORECASE)
#: a request id taken from a client: short and printable, so that it cannot forge or break a log line
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_HANDLER = "backgrid"


class LoggingError(BackgridError, ValueError):
    """A log format or level that is not one of those offered; names the setting."""


def _secret(key: object) -> bool:
    name = str(key).lower().replace("-", "_")
    return any(word in name for word in SECRET_KEYS)


def _masked(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: MASK if _secret(k) else _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_masked(v) for v in value)
    if isinstance(value, str) and "://" in value:
        return _URL_QUERY_SECRET.sub(rf"\g<head>{MASK}", _URL_PASSWORD.sub(rf"\g<head>{MASK}@", value))
    return value


def mask_secrets(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """A structlog processor: write ``***`` for every secret in the event (see the module docstring)."""
    return {key: MASK if _secret(key) else _masked(value) for key, value in event_dict.items()}


def configure_logging(fmt: Literal["console", "json"] = "console", level: str = "info", *,
                      stream: TextIO | None = None) -> None:
    """Send structlog's and the standard library's log lines to ``stream`` (default: stderr) as ``fmt``.

    Lines below ``level`` (``debug``, ``info``, ``warning``, ``error``) are dropped. Calling it again
    replaces the previous configuration (the handler it installed on the root logger included).
    """
    threshold = logging.getLevelNamesMapping().get(level.upper())
    if threshold is None:
        msg = f"log_level must be one of debug, info, warning, error; got {level!r}"
        raise LoggingError(msg)
    if fmt not in ("console", "json"):
        msg = f"log_format must be 'console' or 'json'; got {fmt!r}"
        raise LoggingError(msg)
    out = sys.stderr if stream is None else stream
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        mask_secrets,
    ]
    renderer: Processor = (structlog.processors.JSONRenderer() if fmt == "json"
                           else structlog.dev.ConsoleRenderer(colors=out.isatty()))
    handler = logging.StreamHandler(out)
    handler.set_name(_HANDLER)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    *([structlog.processors.format_exc_info] if fmt == "json" else []), renderer]))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(threshold)
    structlog.configure(
        processors=[*shared, structlog.processors.StackInfoRenderer(),
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        # not cached: a logger made before a reconfiguration (a module-level one) follows it
        cache_logger_on_first_use=False,
    )


@contextmanager
def bound(**values: Any) -> Iterator[None]:
    """Add ``values`` (``run_id=...``, ``attempt=...``) to every log line written inside the block.

    ``None`` values are left out. Usable as a decorator too.
    """
    with structlog.contextvars.bound_contextvars(**{k: v for k, v in values.items() if v is not None}):
        yield


class RequestContext:
    """ASGI middleware: a request id on every log line of a request, in its response, and one line per request.

    The id is the request's ``X-Request-ID`` when it is short and printable, else a new one. The line
    (``event="request"``) holds ``method``, ``path``, ``status`` and ``duration_ms``; a 5xx is logged as
    an error. What the request binds to the log context (``user_id``) ends with it. Add it outermost, so that
    every other middleware's lines carry the id.
    """

    def __init__(self, app: ASGIApp, *, header: str = "x-request-id") -> None:
        self.app = app
        self.header = header.lower().encode("latin-1")
        self.log = structlog.get_logger("backgrid.service.requests")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection; only HTTP requests are logged."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(self.header, b"").decode("latin-1")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        before = structlog.contextvars.get_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status = 500  # what the client gets when the app raises before answering
        start = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (self.header, request_id.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            line = self.log.error if status >= 500 else self.log.info
            line("request", method=scope["method"], path=scope["path"], status=status,
                 duration_ms=round((time.perf_counter() - start) * 1000, 3))
            structlog.contextvars.clear_contextvars()
            structlog.contextvars.bind_contextvars(**before)
