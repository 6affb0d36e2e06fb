"""LTTB: the kernel against a slow, obvious transcription of Steinarsson's algorithm, and a hand case."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backgrid.errors import ReportError
from backgrid.report import lttb
from backgrid.report.kernels.lttb import lttb_nb


def reference(x: list[float], y: list[float], m: int) -> list[int]:
    """Steinarsson (2013), listing 4.2, one point at a time in plain Python."""
    n = len(x)
    every = (n - 2) / (m - 2)
    kept, a = [0], 0
    for i in range(m - 2):
        start, stop = math.floor((i + 1) * every) + 1, min(math.floor((i + 2) * every) + 1, n)
        avg_x = sum(x[start:stop]) / (stop - start)
        avg_y = sum(y[start:stop]) / (stop - start)
        best, chosen = -1.0, None
        for j in range(math.floor(i * every) + 1, math.floor((i + 1) * every) + 1):
            area = abs((x[a] - avg_x) * (y[j] - y[a]) - (x[a] - x[j]) * (avg_y - y[a])) / 2
            if area > best:
                best, chosen = area, j
        kept.append(chosen)
        a = chosen
    return [*kept, n - 1]


def test_hand_case() -> None:
    # n = 7, m = 4: buckets {1, 2} and {3, 4, 5}. Bucket 1 against (0, 0) and the mean (4, 2) of {3, 4, 5}:
    # twice the area is 2 for (1, 1) and 4 for (2, 0) -> 2. Bucket 2 against (2, 0) and (6, 0): 20 for (3, 5).
    y = np.array([0.0, 1, 0, 5, 0, 1, 0])
    assert lttb_nb(np.arange(7.0), y, 4).tolist() == [0, 2, 3, 6]
    assert reference(list(range(7)), y.tolist(), 4) == [0, 2, 3, 6]


@settings(max_examples=60, deadline=None)
@given(n=st.integers(4, 400), m=st.integers(3, 399), seed=st.integers(0, 2**32 - 1))
def test_kernel_equals_reference(n: int, m: int, seed: int) -> None:
    m = min(m, n - 1)
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.uniform(0.1, 2.0, n))
    y = rng.normal(0, 1, n).cumsum()
    assert lttb_nb(x, y, m).tolist() == reference(x.tolist(), y.tolist(), m)


def test_keeps_the_ends_a_spike_and_the_count() -> None:
    y = np.zeros(100_000)
    y[54_321] = 9.0
    kept = lttb(np.arange(y.size, dtype=np.float64), y, 2000)
    assert kept.size == 2000
    assert kept[0] == 0
    assert kept[-1] == y.size - 1
    assert 54_321 in kept
    assert np.all(np.diff(kept) > 0)


def test_short_series_whole_and_non_finite_left_out() -> None:
    y = np.array([1.0, np.nan, 3.0, np.inf, 5.0])
    assert lttb(np.arange(5.0), y, 10).tolist() == [0, 2, 4]
    assert lttb(np.arange(5.0), np.arange(5.0), 5).tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(("x", "y", "m", "match"), [
    (np.arange(3.0), np.arange(4.0), 3, "one length"),
    (np.arange(5.0), np.arange(5.0), 2, "max_points must be an int >= 3"),
    (np.arange(5.0), np.arange(5.0), 3.5, "max_points must be an int >= 3"),
])
def test_rejects(x: np.ndarray, y: np.ndarray, m: object, match: str) -> None:
    with pytest.raises(ReportError, match=match):
        lttb(x, y, m)  # type: ignore[arg-type]
