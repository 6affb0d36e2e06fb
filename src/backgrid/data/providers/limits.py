"""How often a vendor may be asked: a token bucket per vendor, and a circuit breaker that stops asking a failing one.

Both take an injectable ``clock`` (seconds, monotonic) and the bucket an injectable ``sleep``, so tests run on a
fake clock and never wait.

>>> now = [0.0]
>>> bucket = TokenBucket(Limit(rate=1.0, burst=2), clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
>>> [bucket.acquire() for _ in range(3)]
[0.0, 0.0, 1.0]
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from backgrid.errors import DataError, RateLimitError

__all__ = ["CircuitBreaker", "Limit", "TokenBucket"]

Clock = Callable[[], float]
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class Limit:
    """A vendor's request rate: ``rate`` requests a second on average, at most ``burst`` at once."""

    rate: float
    burst: int = 1

    def __post_init__(self) -> None:
        if not self.rate > 0:
            msg = f"a rate limit's rate must be > 0 requests a second, got {self.rate!r}"
            raise DataError(msg)
        if self.burst < 1:
            msg = f"a rate limit's burst must be >= 1 request, got {self.burst!r}"
            raise DataError(msg)

    def describe(self) -> str:
        """``5/min, burst 5`` or ``2/s, burst 4``: the rate in the unit that reads best."""
        per_second = self.rate
        rate = f"{per_second:.3g}/s" if per_second >= 1 else f"{per_second * 60:.3g}/min"
        return f"{rate}, burst {self.burst}"


class TokenBucket:
    """A token bucket: ``burst`` tokens, refilled at ``rate`` a second; each request takes one.

    :meth:`hold` (or :meth:`honour` with a :class:`~backgrid.errors.RateLimitError`) empties the bucket until a
    vendor's ``Retry-After`` has passed.
    """

    def __init__(self, limit: Limit, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> None:
        self.limit = limit
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(limit.burst)
        self._stamp = clock()
        self._held_until = self._stamp
        self._lock = threading.Lock()

    def _refill(self, now: float) -> None:
        if now > self._stamp:
            start = max(self._stamp, self._held_until)
            if now > start:
                self._tokens = min(float(self.limit.burst), self._tokens + (now - start) * self.limit.rate)
            self._stamp = now

    def wait_time(self) -> float:
        """Seconds until a request may go (0 when one may go now)."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            return self._wait(now)

    def _wait(self, now: float) -> float:
        held = max(0.0, self._held_until - now)
        if held > 0:
            return held + max(0.0, 1.0 - self._tokens) / self.limit.rate
        return max(0.0, 1.0 - self._tokens) / self.limit.rate

    def acquire(self) -> float:
        """Take a token, sleeping until one is there; return the seconds slept."""
        slept = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._refill(now)
                wait = self._wait(now)
                if wait <= 0:
                    self._tokens -= 1.0
                    return slept
            self._sleep(wait)
            slept += wait

    def hold(self, seconds: float) -> None:
        """Let no request go for ``seconds`` from now, and start refilling from empty afterwards."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            self._tokens = 0.0
            self._held_until = max(self._held_until, now + max(0.0, seconds))

    def honour(self, error: RateLimitError) -> None:
        """Wait out a vendor's 429: its ``retry_after`` when given, else one request's worth of time."""
        self.hold(error.retry_after if error.retry_after is not None else 1.0 / self.limit.rate)


BreakerState = Literal["closed", "open", "half-open"]


class CircuitBreaker:
    """Stop asking a vendor that keeps failing, and probe it again after a cool-down.

    ``closed`` (asking) -> ``open`` after ``failures`` failures in a row (not asking) -> ``half-open`` once
    ``cooldown`` seconds have passed (one probe allowed) -> ``closed`` when the probe succeeds, ``open``
    again (for another cool-down) when it fails.

    >>> now = [0.0]
    >>> breaker = CircuitBreaker(failures=2, cooldown=30, clock=lambda: now[0])
    >>> breaker.record_failure(); breaker.record_failure(); breaker.state
    'open'
    >>> now[0] = 30.0; breaker.allow(), breaker.state
    (True, 'half-open')
    """

    def __init__(self, *, failures: int = 3, cooldown: float = 60.0, clock: Clock = time.monotonic) -> None:
        if failures < 1:
            msg = f"a circuit breaker's failures must be >= 1, got {failures!r}"
            raise DataError(msg)
        if cooldown < 0:
            msg = f"a circuit breaker's cooldown must be >= 0 seconds, got {cooldown!r}"
            raise DataError(msg)
        self.failures = failures
        self.cooldown = cooldown
        self._clock = clock
        self._state: BreakerState = "closed"
        self._streak = 0
        self._opened_at = 0.0
        self._probing = False
        self._lock = threading.Lock()

    @property
    def state(self) -> BreakerState:
        """``closed``, ``open`` or ``half-open`` (an open breaker whose cool-down is over reads half-open)."""
        with self._lock:
            self._advance()
            return self._state

    def _advance(self) -> None:
        if self._state == "open" and self._clock() - self._opened_at >= self.cooldown:
            self._state = "half-open"
            self._probing = False

    def retry_in(self) -> float:
        """Seconds until an open breaker lets a probe through (0 when it is not open)."""
        with self._lock:
            self._advance()
            return max(0.0, self._opened_at + self.cooldown - self._clock()) if self._state == "open" else 0.0

    def allow(self) -> bool:
        """May a request go now? A half-open breaker lets one probe through until it is recorded."""
        with self._lock:
            self._advance()
            if self._state == "closed":
                return True
            if self._state == "half-open" and not self._probing:
                self._probing = True
                return True
            return False

    def record_success(self) -> None:
        """A request succeeded: close the breaker."""
        with self._lock:
            self._state, self._streak, self._probing = "closed", 0, False

    def record_failure(self) -> None:
        """A request failed: count it, and open the breaker after ``failures`` in a row or a failed probe."""
        with self._lock:
            self._advance()
            self._streak += 1
            if self._state == "half-open" or self._streak >= self.failures:
                self._state, self._opened_at, self._probing = "open", self._clock(), False
