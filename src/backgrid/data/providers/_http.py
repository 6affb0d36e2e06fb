"""What the HTTP-based vendor adapters share: reading ``Retry-After`` and keeping keys out of messages."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

import pandas as pd

__all__ = ["redact", "retry_after"]


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
