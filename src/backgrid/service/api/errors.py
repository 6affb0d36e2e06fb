"""The API's error contract: every error leaves as ``{"error": message, "code": snake_case, "details": ...}``.

``details`` is a list of ``{"path": ..., "message": ...}`` for a request or a document that failed
validation (the path is dotted from the top of the body: ``body.document.market.symbols``), else an object
or ``null``. The status is the one that fits: 400 malformed, 401 who are you, 403 not allowed, 404 no such
thing (also another user's thing), 409 conflict, 413 too large, 422 invalid (also a value the database cannot
store), 429 too many (with ``Retry-After``), 500 our fault (the message says nothing of the internals; the log
has the traceback).
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any, Protocol

import sqlalchemy as sa
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from backgrid.errors import BackgridError, SpecError

__all__ = ["ApiError", "BodyTooLarge", "install"]

_log = structlog.get_logger("backgrid.service")


class ApiError(Exception):
    """An error a route raises on purpose: its status, code, message and details go out as they are."""

    def __init__(self, status: int, code: str, message: str, details: Any = None, *,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details, self.headers = status, code, message, details, headers


class BodyTooLarge(StarletteHTTPException):
    """A request body over ``max_bytes``, found while it streamed in (``api.middleware.BodyLimit``).

    An HTTPException because FastAPI turns any other error raised while it reads a body into a 400.
    """

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the request body is larger than {max_bytes:,} bytes")
        self.max_bytes = max_bytes


def body(message: str, code: str, details: Any = None) -> dict[str, Any]:
    """The JSON body of an error."""
    return {"error": message, "code": code, "details": details}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name.removesuffix("Error")).lower() or "error"


def _path(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


class _Problems(Protocol):
    problems: list[tuple[str, str]]


def problems_of(exc: _Problems, prefix: str = "") -> list[dict[str, str]]:
    """A document's (or a request's) ``(path, message)`` problems as the contract's details, under ``prefix``."""
    return [{"path": f"{prefix}.{path}" if prefix and path else (path or prefix), "message": message}
            for path, message in exc.problems]


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)  # noqa: S101  # registered for this class only
    return JSONResponse(body(exc.message, exc.code, exc.details), status_code=exc.status, headers=exc.headers)


async def _invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    details = [{"path": _path(e["loc"]), "message": e["msg"]} for e in exc.errors()]
    where = details[0]["path"] if details else "the request"
    return JSONResponse(body(f"the request is invalid at {where}: {details[0]['message'] if details else ''}",
                             "invalid_request", details), status_code=422)


#: FastAPI's only 400: a body that is not even text (JSON that is not UTF-8, a broken multipart form)
_UNPARSABLE = [{"path": "body", "message": "the body cannot be parsed: expected UTF-8 JSON or a multipart form"}]


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101
    if isinstance(exc, BodyTooLarge):
        return JSONResponse(body(str(exc.detail), "too_large", {"max_bytes": exc.max_bytes}), status_code=413)
    if exc.status_code == 400:  # answered like bad JSON, which FastAPI answers 422
        return JSONResponse(body("the request is invalid at body: it cannot be parsed", "invalid_request",
                                 _UNPARSABLE), status_code=422)
    code = _snake(HTTPStatus(exc.status_code).phrase.replace(" ", "").replace("-", "")) \
        if exc.status_code in HTTPStatus._value2member_map_ else "http_error"
    return JSONResponse(body(str(exc.detail), code), status_code=exc.status_code, headers=exc.headers)


async def _library_error(_request: Request, exc: Exception) -> JSONResponse:
    """A library error that a route let through is about the request's content: 422 with its words."""
    assert isinstance(exc, BackgridError)  # noqa: S101
    details = problems_of(exc) if isinstance(exc, SpecError) else None
    status = 404 if isinstance(exc, KeyError) else 422
    message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    return JSONResponse(body(str(message), _snake(type(exc).__name__), details), status_code=status)


async def _unstorable(_request: Request, exc: Exception) -> JSONResponse:
    """A value the database refuses (PostgreSQL: text with a NUL character, NaN in JSON, text too long)."""
    assert isinstance(exc, sa.exc.DataError)  # noqa: S101
    return JSONResponse(body("a value in the request cannot be stored: text may not hold a NUL character, numbers "
                             "must be finite and text must fit its field", "invalid_value"), status_code=422)


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    _log.exception("unhandled error", error=type(exc).__name__)
    return JSONResponse(body("the server failed to answer; the error is in its log", "internal_error"),
                        status_code=500)


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` by the contract."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(BackgridError, _library_error)
    app.add_exception_handler(sa.exc.DataError, _unstorable)
    app.add_exception_handler(Exception, _unexpected)
