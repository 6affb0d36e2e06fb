"""Probability of Backtest Overfitting by combinatorially symmetric cross-validation (CSCV).

Bailey, D. H., Borwein, J. M., López de Prado, M. & Zhu, Q. J. (2015/2017). The probability of backtest
overfitting. Journal of Computational Finance 20(4).

Conventions: ``matrix`` is ``T × N``, one column of per-period returns for each of the N trials (parameter
sets) over the same T periods. Its rows are cut into ``S`` = ``blocks`` contiguous blocks, block ``b`` holding
rows ``[b·T // S, (b + 1)·T // S)`` (sizes differ by at most one row when S does not divide T). Each of the
``C(S, S/2)`` ways to pick half the blocks is one split: those blocks, in time order, are in-sample (IS), the
other half out-of-sample (OOS). Per split the trial with the best IS metric is chosen (the first on a tie),
and its OOS metric is ranked among all N trials' OOS metrics: rank 1 the worst, N the best, tied values
sharing their average rank. ``ω̄ = rank / (N + 1)`` and the logit ``λ = ln(ω̄ / (1 - ω̄))``; PBO is the share of
splits with ``λ <= 0`` (the IS-best is at or below the OOS median). A metric value that is not finite (the
Sharpe ratio of a constant stretch) ranks below every finite one.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from backgrid.errors import RobustnessError

__all__ = ["PBOResult", "pbo"]

Metric = Callable[[np.ndarray], np.ndarray]

#: At most this many metric values (splits × trials) are held at once; splits are processed in chunks.
_CHUNK_VALUES = 2_000_000


@dataclass(frozen=True, eq=False)
class PBOResult:
    """What :func:`pbo` found: one entry per CSCV split in each array.

    Attributes:
        pbo: the share of splits whose IS-best trial ranks at or below the OOS median (``λ <= 0``).
        logits: ``λ`` of each split.
        is_best: the IS metric of the IS-best trial, per split.
        oos: the OOS metric of that same trial, per split.
        degradation: ``(slope, intercept)`` of the least-squares line ``oos ≈ intercept + slope · is_best``
            (over the splits where both are finite); a slope well below 1 is performance that does not carry over.
        probability_of_loss: the share of splits whose IS-best trial has an OOS metric below 0.
    """

    pbo: float
    logits: np.ndarray
    is_best: np.ndarray
    oos: np.ndarray
    degradation: tuple[float, float]
    probability_of_loss: float

    @property
    def n_splits(self) -> int:
        """How many IS/OOS splits were evaluated, ``C(S, S/2)``."""
        return int(self.logits.size)

    def summary(self) -> dict[str, float]:
        """The headline numbers: pbo, probability_of_loss, the degradation line, the median logit, n_splits."""
        slope, intercept = self.degradation
        return {"pbo": self.pbo, "probability_of_loss": self.probability_of_loss, "degradation_slope": slope,
                "degradation_intercept": intercept, "median_logit": float(np.median(self.logits)),
                "n_splits": float(self.n_splits)}


def pbo(matrix: np.ndarray, blocks: int = 16, *, metric: Literal["sharpe", "mean"] | Metric = "sharpe") -> PBOResult:
    """Probability of Backtest Overfitting of choosing the best of N trials, by CSCV (Bailey et al. 2015).

    ``PBO = #{splits c : λ_c <= 0} / C(S, S/2)``, ``λ_c = ln(ω̄_c / (1 - ω̄_c))``, ``ω̄_c`` the relative OOS rank
    (``rank / (N + 1)``) of the trial that was best in sample on split ``c`` (see the module docstring for the
    splits and ranks).

    Args:
        matrix: ``T × N`` per-period returns, one column per trial (N >= 2).
        blocks: ``S``, an even number of row blocks, 2 <= S <= T (the paper suggests 16).
        metric: ``"sharpe"`` (per-period ``mean / std(ddof=1)``, the default), ``"mean"``, or a function
            taking a ``rows × N`` array and returning the N trials' scores (higher is better). The named
            metrics are computed for all splits at once from per-block sums; a function is called twice per
            split.

    >>> rng = np.random.default_rng(0)
    >>> noise = rng.normal(0.0, 0.01, (400, 8))
    >>> edge = noise + np.r_[0.004, np.zeros(7)]  # trial 0 really is better
    >>> pbo(edge, blocks=8).pbo
    0.0
    """
    m = _validate(matrix, blocks)
    t, n = m.shape
    edges = np.arange(blocks + 1) * t // blocks
    combos = np.array(list(itertools.combinations(range(blocks), blocks // 2)), dtype=np.int64)
    in_sample = np.zeros((combos.shape[0], blocks), dtype=bool)
    in_sample[np.arange(combos.shape[0])[:, None], combos] = True

    moments = None if callable(metric) else _block_moments(m, edges)
    chunk = max(1, _CHUNK_VALUES // n)
    logits, best_is, best_oos = [], [], []
    for start in range(0, combos.shape[0], chunk):
        mask = in_sample[start:start + chunk]
        if callable(metric):
            r_is, r_oos = _called(m, edges, mask, metric)
        else:
            r_is, r_oos = _from_blocks(moments, mask, metric), _from_blocks(moments, ~mask, metric)
        lam, b_is, b_oos = _rank(r_is, r_oos)
        logits.append(lam)
        best_is.append(b_is)
        best_oos.append(b_oos)
    lam_all = np.concatenate(logits)
    is_best, oos = np.concatenate(best_is), np.concatenate(best_oos)
    return PBOResult(pbo=float(np.mean(lam_all <= 0.0)), logits=lam_all, is_best=is_best, oos=oos,
                     degradation=_line(is_best, oos), probability_of_loss=float(np.mean(oos < 0.0)))


def _validate(matrix: np.ndarray, blocks: int) -> np.ndarray:
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2:
        msg = f"matrix must be 2-D (T periods × N trials); got shape {m.shape}"
        raise RobustnessError(msg)
    t, n = m.shape
    if n < 2:
        msg = f"matrix must have at least 2 columns (trials) to choose among; got {n}"
        raise RobustnessError(msg)
    if not np.all(np.isfinite(m)):
        msg = "matrix must be finite; found NaN or inf"
        raise RobustnessError(msg)
    if isinstance(blocks, bool) or not isinstance(blocks, int | np.integer) or blocks < 2 or blocks % 2:
        msg = f"blocks must be an even integer of at least 2; got {blocks!r}"
        raise RobustnessError(msg)
    if blocks > t:
        msg = f"blocks must not exceed the number of rows of matrix (T = {t}); got {blocks}"
        raise RobustnessError(msg)
    return m


def _block_moments(m: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each block's row count ``(S,)``, column means and sums of squared deviations from them ``(S, N)``."""
    counts = np.diff(edges)
    means = np.add.reduceat(m, edges[:-1], axis=0) / counts[:, None]
    m2 = np.add.reduceat((m - np.repeat(means, counts, axis=0)) ** 2, edges[:-1], axis=0)
    return counts.astype(np.float64), means, m2


def _from_blocks(moments: tuple[np.ndarray, np.ndarray, np.ndarray] | None, mask: np.ndarray,
                 metric: str) -> np.ndarray:
    """``(splits × N)`` mean or Sharpe of the rows in the blocks each mask row selects, from the blocks' moments."""
    assert moments is not None  # noqa: S101 (internal: the named metrics always compute them)
    counts, means, m2 = moments
    w = mask.astype(np.float64)
    rows = w @ counts
    weighted = w @ (counts[:, None] * means)
    mean = weighted / rows[:, None]
    if metric == "mean":
        return np.asarray(mean)
    # Chan et al.'s pooled sum of squares: the blocks' own plus their means' spread about the pooled mean
    squares = w @ (counts[:, None] * means**2)
    spread = squares - rows[:, None] * mean**2
    # the spread term cancels: what is left of it below rounding of its parts is 0 (a constant column stays constant)
    spread = np.where(np.abs(spread) <= 1e-12 * squares, 0.0, spread)
    with np.errstate(divide="ignore", invalid="ignore"):
        std = np.sqrt(np.maximum(w @ m2 + spread, 0.0) / (rows[:, None] - 1.0))
        return np.asarray(np.where(std > 0, mean / std, np.nan))


def _called(m: np.ndarray, edges: np.ndarray, mask: np.ndarray, metric: Metric) -> tuple[np.ndarray, np.ndarray]:
    """The user's metric on each split's IS rows and OOS rows."""
    n = m.shape[1]
    r_is = np.empty((mask.shape[0], n))
    r_oos = np.empty((mask.shape[0], n))
    block_rows = [np.arange(edges[b], edges[b + 1]) for b in range(edges.size - 1)]
    for k, chosen in enumerate(mask):
        rows_is = np.concatenate([block_rows[b] for b in np.flatnonzero(chosen)])
        rows_oos = np.concatenate([block_rows[b] for b in np.flatnonzero(~chosen)])
        for out, rows in ((r_is, rows_is), (r_oos, rows_oos)):
            scores = np.asarray(metric(m[rows]), dtype=np.float64)
            if scores.shape != (n,):
                msg = f"metric must return one score per trial, shape ({n},); got shape {scores.shape}"
                raise RobustnessError(msg)
            out[k] = scores
    return r_is, r_oos


def _rank(r_is: np.ndarray, r_oos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Logit of the IS-best trial's relative OOS rank, and its IS and OOS metrics, per split (row)."""
    r_is = np.where(np.isfinite(r_is), r_is, -np.inf)
    r_oos = np.where(np.isfinite(r_oos), r_oos, -np.inf)
    rows = np.arange(r_is.shape[0])
    best = np.argmax(r_is, axis=1)
    value = r_oos[rows, best][:, None]
    rank = 1.0 + np.sum(r_oos < value, axis=1) + 0.5 * (np.sum(r_oos == value, axis=1) - 1.0)
    omega = rank / (r_is.shape[1] + 1.0)
    return np.log(omega / (1.0 - omega)), r_is[rows, best], value[:, 0]


def _line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares ``(slope, intercept)`` of ``y`` on ``x`` over the finite pairs (NaN when x does not vary)."""
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size < 2:
        return math.nan, math.nan
    dx = x - x.mean()
    sxx = float(dx @ dx)
    if sxx <= 0:
        return math.nan, math.nan
    slope = float(dx @ (y - y.mean())) / sxx
    return slope, float(y.mean()) - slope * float(x.mean())
