"""The API's request and response bodies (pydantic), separate from the tables in ``store/models.py``.

Requests reject unknown fields (a misspelt option is an error, not a silent default). Times go out as
ISO 8601 in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

__all__ = [
    "ApiKeyCreated", "ApiKeyOut", "DataRefreshIn", "ErrorOut", "FeedbackIn", "FetchIn", "InviteOut", "LoginIn",
    "RefreshIn", "RegisterIn", "RunIn", "RunOut", "StrategyIn", "StrategyOut", "TokensOut", "UserOut", "VersionOut",
]

T = TypeVar("T")

#: an address with one @ and no spaces (the mail itself proves the rest)
EMAIL = Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=320, description="An e-mail address.")

#: the largest version number (an INTEGER column: a larger one overflowed the database driver, a 500)
MAX_VERSION = 2**31 - 1

RunKind = Literal["backtest", "sweep", "optimise", "walkforward", "robustness", "import", "refresh", "report"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def iso(seconds: float | None) -> str | None:
    """UNIX seconds as ISO 8601 (UTC, milliseconds)."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


#: a time: UNIX seconds in the store, ISO 8601 (UTC) in the API
Time = Annotated[float, PlainSerializer(iso, return_type=str)]


class ErrorOut(BaseModel):
    """Every error's body."""

    error: str = Field(description="What went wrong, in words.")
    code: str = Field(description="A stable snake_case code to branch on.")
    details: Any = Field(default=None, description="Field-level problems [{path, message}], or more about the error.")


class RegisterIn(_In):
    """A new account."""

    email: str = EMAIL
    password: str = Field(min_length=10, max_length=200, description="At least 10 characters.")
    invite: str | None = Field(default=None, max_length=32, description="An invite code (registration by invite).")


class LoginIn(_In):
    """Credentials."""

    email: str = EMAIL
    password: str = Field(max_length=200)


class RefreshIn(_In):
    """A refresh token, for a new access token."""

    refresh_token: str = Field(max_length=2000)


class TokensOut(BaseModel):
    """Tokens of a session."""

    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105  # the OAuth 2 token type, not a secret
    expires_in: int = Field(description="Seconds the access token lives.")


class UserOut(_Out):
    """An account, without its secrets."""

    id: str
    email: str
    role: str
    tier: str
    digest: bool
    created_at: Time



class ApiKeyIn(_In):
    """A key to make."""

    name: str = Field(min_length=1, max_length=100)


class ApiKeyOut(_Out):
    """A key, without its secret."""

    id: str
    name: str
    prefix: str
    created_at: Time
    last_used_at: Time | None
    revoked: bool



class ApiKeyCreated(ApiKeyOut):
    """A new key: ``key`` is shown this once."""

    key: str


class StrategyIn(_In):
    """A strategy document to save (the name is the document's own unless given)."""

    document: dict[str, Any] = Field(description="A strategy document (GET /api/v1/strategies/schema).")
    name: str | None = Field(default=None, min_length=1, max_length=200)


class DocumentIn(_In):
    """A document to check."""

    document: dict[str, Any]


class ValidationOut(BaseModel):
    """What a document check found."""

    valid: bool
    problems: list[dict[str, str]] = Field(description="[{path, message}], empty when valid.")
    summary: str | None = Field(default=None, description="What the strategy does, in plain English, when valid.")
    hash: str | None = Field(default=None, description="The document's fingerprint (its identity), when valid.")


class VersionOut(_Out):
    """One saved version of a strategy."""

    id: str
    number: int
    hash: str
    schema_version: int
    created_at: Time
    document: dict[str, Any]



class StrategyOut(_Out):
    """A strategy and its newest version."""

    id: str
    name: str
    auto_update: bool
    created_at: Time
    updated_at: Time
    version: VersionOut
    summary: str



class RunIn(_In):
    """A run to queue: a saved strategy's version, an inline document, or a QuantMetrics V4 request."""

    kind: RunKind = "backtest"
    strategy_id: str | None = Field(default=None, max_length=32)
    version: int | None = Field(default=None, ge=1, le=MAX_VERSION,
                                description="The strategy's version (default: its newest).")
    document: dict[str, Any] | None = Field(default=None, description="An inline document instead.")
    options: dict[str, Any] = Field(default_factory=dict, description="What the kind takes (sweep, method, ...).")
    priority: int = Field(default=0, ge=-100, le=100, description="Higher runs first within its queue.")


class RunOut(_Out):
    """A run's state (its results are under /results, /trades, /equity, /artifacts)."""

    id: str
    kind: str
    queue: str
    status: str
    priority: int
    progress: float
    message: str
    eta_seconds: float | None
    attempts: int
    max_attempts: int
    strategy_version_id: str | None
    parent_id: str | None
    config_hash: str | None
    data_hash: str | None
    error: dict[str, Any] | None
    summary: dict[str, Any] | None
    created_at: Time
    started_at: Time | None
    finished_at: Time | None



class InviteOut(_Out):
    """A beta invite code."""

    code: str
    created_at: Time
    used_at: Time | None



class FeedbackIn(_In):
    """What a user thinks."""

    text: str = Field(min_length=1, max_length=10_000)
    rating: int | None = Field(default=None, ge=1, le=5)
    run_id: str | None = Field(default=None, max_length=32)


class EventIn(_In):
    """A product-analytics event from the web app."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^[a-z][a-z0-9_.]*$")
    properties: dict[str, str | int | float | bool | None] = Field(default_factory=dict, max_length=50)


class Page(BaseModel, Generic[T]):  # Python 3.11 has no `class Page[T]`
    """One page of a list."""

    items: list[T]
    total: int = Field(description="Rows in the whole list.")
    limit: int
    offset: int


class Change(BaseModel):
    """One path where two documents differ."""

    path: str
    a: Any = Field(description="The value in the first (null: absent).")
    b: Any = Field(description="The value in the second (null: absent).")


RunState = Literal["queued", "running", "succeeded", "failed", "cancelled", "dead"]


class Results(BaseModel):
    """A finished run's statistics (one row per parameter set), warnings and insights."""

    stats: list[dict[str, Any]]
    warnings: list[str] = Field(description="Why the run could not trade, where it could not.")
    insights: list[dict[str, Any]] = Field(description="Plain-language readings: {id, severity, title, message}.")


class Comparison(BaseModel):
    """Several runs' statistics side by side: ``values[metric][i]`` is run ``runs[i]``'s."""

    runs: list[str]
    metrics: list[str]
    values: dict[str, list[Any]]


class EquityPoint(BaseModel):
    """One point of an equity curve."""

    time: str
    equity: float | None


class ArtifactOut(_Out):
    """A file a run published (download: /runs/{id}/artifacts/{name})."""

    name: str
    media_type: str
    size: int
    sha256: str
    created_at: Time



class SeriesOut(_Out):
    """A stored series of the caller."""

    id: str
    symbol: str
    timeframe: str
    source: str
    rows: int
    first: str
    last: str
    checksum: str


class FetchIn(_In):
    """Bars to fetch from market-data vendors into the caller's store (queued as an ``import`` run)."""

    symbol: str = Field(max_length=40, description="As the vendor names it: BTC/USDT, AAPL, EURUSD=X.")
    timeframe: str = Field(max_length=10, description="1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w.")
    provider: list[str] | None = Field(default=None, min_length=1, max_length=10,
                                       description="Vendors to ask, in order (yfinance, ccxt:binance, ...).")
    asset_class: Literal["crypto", "equity", "fx"] | None = Field(
        default=None, description="Ask this asset class's chain of vendors instead.")
    start: str | None = Field(default=None, max_length=40, description="First bar's open time (UTC when naive).")
    end: str | None = Field(default=None, max_length=40, description="End of the range, excluded (default: now).")
    priority: int = Field(default=0, ge=-100, le=100)


class DataRefreshIn(_In):
    """Stored series to bring up to date (queued as a ``refresh`` run)."""

    symbols: list[str] | None = Field(default=None, min_length=1, max_length=500,
                                      description="Default: every stored series that came from a vendor.")
    watched: bool = Field(default=False, description="Refresh the due series of the watch list instead.")
    priority: int = Field(default=0, ge=-100, le=100)


class UploadOut(BaseModel):
    """A stored upload and its validation report."""

    series: SeriesOut
    report: dict[str, Any]


class FeedbackOut(_Out):
    """Recorded feedback."""

    id: str
    text: str
    rating: int | None
    run_id: str | None
    created_at: Time



class FunnelStep(BaseModel):
    """Users who reached a step of a funnel."""

    step: str
    users: int


class TrialOut(_Out):
    """One evaluated parameter set of an optimisation."""

    number: int
    params: dict[str, Any]
    value: float | None = Field(description="The (first) objective's value.")
    state: str
    stats: dict[str, Any] | None = Field(description="The set's metrics.")


class FoldOut(_Out):
    """One walk-forward fold."""

    number: int
    train_start: str
    train_end: str
    test_start: str
    test_end: str
    params: dict[str, Any] = Field(description="The values the train window chose.")
    stats: dict[str, Any] | None = Field(description="In- and out-of-sample values, degradation, trades.")
