"""The token bucket and the circuit breaker, on a fake clock (no test waits)."""

import pytest

from backgrid.data.providers.limits import CircuitBreaker, Limit, TokenBucket
from backgrid.errors import DataError, RateLimitError


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()


def bucket(clock, rate=2.0, burst=3):
    return TokenBucket(Limit(rate, burst), clock=clock, sleep=clock.sleep)


def test_a_full_bucket_lets_a_burst_through_then_paces_at_the_rate(clock):
    b = bucket(clock)  # 2 a second, 3 at once
    assert [b.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert b.wait_time() == pytest.approx(0.5)
    assert b.acquire() == pytest.approx(0.5)
    assert b.acquire() == pytest.approx(0.5)
    assert clock.now == pytest.approx(101.0)


def test_the_bucket_refills_no_more_than_its_burst(clock):
    b = bucket(clock)
    for _ in range(3):
        b.acquire()
    clock.now += 60  # a minute idle refills 120 tokens' worth, capped at 3
    assert [b.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert b.wait_time() == pytest.approx(0.5)


def test_retry_after_holds_the_bucket_then_refills_from_empty(clock):
    b = bucket(clock)
    b.honour(RateLimitError("429", provider="v", retry_after=10))
    assert b.wait_time() == pytest.approx(10.5)  # the hold, then one token at 2 a second
    assert b.acquire() == pytest.approx(10.5)
    assert clock.slept == [pytest.approx(10.5)]


def test_a_429_without_retry_after_waits_one_request(clock):
    b = bucket(clock, rate=0.5)
    b.honour(RateLimitError("429", provider="v"))
    assert b.wait_time() == pytest.approx(2.0 + 2.0)


def test_limits_are_checked_and_described():
    with pytest.raises(DataError, match="rate must be > 0"):
        Limit(0)
    with pytest.raises(DataError, match="burst must be >= 1"):
        Limit(1, 0)
    assert Limit(5 / 60, 5).describe() == "5/min, burst 5"
    assert Limit(2, 4).describe() == "2/s, burst 4"
    assert Limit(200 / 60, 10).describe() == "3.33/s, burst 10"


def test_the_breaker_opens_after_n_failures_in_a_row(clock):
    breaker = CircuitBreaker(failures=3, cooldown=30, clock=clock)
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()  # the streak starts again
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state == "closed"
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state == "open"
    assert not breaker.allow()
    assert breaker.retry_in() == pytest.approx(30)


def test_the_breaker_probes_once_after_the_cooldown_and_closes_on_success(clock):
    breaker = CircuitBreaker(failures=1, cooldown=30, clock=clock)
    breaker.record_failure()
    clock.now += 29.9
    assert not breaker.allow()
    clock.now += 0.1
    assert breaker.state == "half-open"
    assert breaker.allow()
    assert not breaker.allow()  # one probe at a time
    breaker.record_success()
    assert breaker.state == "closed"
    assert breaker.allow()


def test_a_failed_probe_opens_the_breaker_for_another_cooldown(clock):
    breaker = CircuitBreaker(failures=5, cooldown=10, clock=clock)
    for _ in range(5):
        breaker.record_failure()
    clock.now += 10
    assert breaker.allow()
    breaker.record_failure()  # one failure is enough when half-open
    assert breaker.state == "open"
    assert breaker.retry_in() == pytest.approx(10)
    clock.now += 10
    assert breaker.state == "half-open"


def test_breaker_settings_are_checked():
    with pytest.raises(DataError, match="failures must be >= 1"):
        CircuitBreaker(failures=0)
    with pytest.raises(DataError, match="cooldown must be >= 0"):
        CircuitBreaker(cooldown=-1)
