"""What the HTTP-based vendor adapters share: an HTTP status as a ProviderError, ``Retry-After``, keys kept out."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

import pandas as pd

from backgrid.errors import CredentialsError, ProviderUnavailableError, RateLimitError, SourceError

__all__ = ["redact", "retry_after", "status_error"]


def retry_after(value: str | None, *, now: pd.Timestamp | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: a number of seconds or an HTTP date (``None`` if absent).

    >>> retry_after("12")
    12.0
    >>> retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=pd.Timestamp("2015-10-21 07:28:00", tz="UTC"))
    30.0
    >>> retry_after("soon") is None
    True
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        when = pd.Timestamp(parsedate_to_datetime(text))
    except (TypeError, ValueError):
        return None
    now = pd.Timestamp.now(tz="UTC") if now is None else now
    return max((when - now).total_seconds(), 0.0)


def redact(text: str, *secrets: str | None, limit: int = 200) -> str:
    """``text`` shortened to ``limit`` characters with every secret replaced by ``***``.

    >>> redact("bad key abc123 given", "abc123")
    'bad key *** given'
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def status_error(provider: str, symbol: str, status: int | None, said: str, *, wait: float | None,
                 variables: str) -> SourceError:
    """The ProviderError for an HTTP failure ``status`` of a request for ``symbol``.

    429 is a :class:`RateLimitError` (``wait``: the vendor's ``Retry-After``), 401 and 403 a
    :class:`CredentialsError` naming ``variables``, 5xx a :class:`ProviderUnavailableError`, any other
    status a :class:`SourceError` (the vendor cannot serve this request). ``said`` is the vendor's own
    words, already redacted.

    >>> status_error("v", "AAA", 503, "busy", wait=None, variables="V_KEY")
    ProviderUnavailableError('v failed to answer AAA (HTTP 503): busy')
    """
    if status == 429:
        msg = f"{provider} refused {symbol} for its rate limit (HTTP 429): {said}"
        return RateLimitError(msg, provider=provider, retry_after=wait)
    if status in (401, 403):
        msg = (f"{provider} refused the key for {symbol} (HTTP {status}): check {variables} "
               f"(and that the plan covers this data): {said}")
        return CredentialsError(msg, provider=provider)
    if status is not None and status >= 500:
        return ProviderUnavailableError(f"{provider} failed to answer {symbol} (HTTP {status}): {said}",
                                        provider=provider)
    return SourceError(f"{provider} cannot serve {symbol} (HTTP {status}): {said}")
