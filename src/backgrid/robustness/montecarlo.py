"""Monte Carlo of a backtest's trades and returns: trade-order shuffles, trade bootstraps, block bootstraps.

Conventions: ``pnl`` is the PnL of each closed trade in money, in the order they closed; ``cash`` the equity
before the first trade, so an equity path is ``cash + cumsum(pnl)`` with ``cash`` as its first point and first
peak. Drawdowns are fractions of the running peak (negative numbers, as in :mod:`backgrid.metrics.returns`).
A path is ruined when its equity touches ``ruin`` or less (default 0: the account is gone). ``seed`` is
anything :func:`numpy.random.default_rng` takes (an int, a Generator); the same seed gives the same answer.

References:
    Efron, B. & Tibshirani, R. (1993). An introduction to the bootstrap. Chapman & Hall (percentile bands).
    Politis, D. N. & Romano, J. P. (1992). A circular block-resampling procedure for stationary data.
    Politis, D. N. & Romano, J. P. (1994). The stationary bootstrap. JASA 89(428).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from backgrid.errors import RobustnessError
from backgrid.robustness.kernels.shuffle_nb import shuffle_nb

__all__ = ["BlockBootstrapResult", "BootstrapResult", "ShuffleResult", "block_bootstrap", "bootstrap_trades",
           "shuffle_trades"]

Seed = int | np.random.Generator | None

#: Paths of the trade bootstrap drawn at once (bounds the memory of the index and PnL draws).
_CHUNK_VALUES = 2_000_000


def _quantile_keys(prefix: str, values: np.ndarray, quantiles: tuple[float, ...] = (0.05, 0.5, 0.95)) -> dict[
        str, float]:
    qs = np.quantile(values, quantiles)
    return {f"{prefix}_q{round(q * 100):02d}": float(v) for q, v in zip(quantiles, qs, strict=True)}


@dataclass(frozen=True, eq=False)
class ShuffleResult:
    """Trade-order shuffles: one entry per path in each array.

    Attributes:
        final: final equity of each path (the same number on every path: a shuffle keeps the total PnL).
        max_drawdown: the deepest drawdown of each path (a negative fraction).
        min_equity: the lowest equity of each path.
        actual_max_drawdown: the deepest drawdown of the trades in their actual order.
        risk_of_ruin: the share of paths whose equity touches ``ruin`` or less.
        ruin: the ruin level used.
    """

    final: np.ndarray
    max_drawdown: np.ndarray
    min_equity: np.ndarray
    actual_max_drawdown: float
    risk_of_ruin: float
    ruin: float

    def summary(self) -> dict[str, float]:
        """Final equity, the drawdown distribution's mean and 5/50/95 % quantiles, the actual drawdown's
        rank among them (``drawdown_percentile``: the share of shuffles with a drawdown as deep or deeper), risk of
        ruin and the number of paths."""
        return {"final": float(self.final[0]), "max_drawdown_mean": float(self.max_drawdown.mean()),
                **_quantile_keys("max_drawdown", self.max_drawdown), "actual_max_drawdown": self.actual_max_drawdown,
                "drawdown_percentile": float(np.mean(self.max_drawdown <= self.actual_max_drawdown)),
                "risk_of_ruin": self.risk_of_ruin, "n": float(self.final.size)}


@dataclass(frozen=True, eq=False)
class BootstrapResult:
    """Trades resampled with replacement.

    Attributes:
        quantiles: the quantile levels of ``bands``.
        bands: ``len(quantiles) × (trades + 1)`` equity quantile paths, column 0 the starting cash.
        final: final equity of each path.
        max_drawdown: the deepest drawdown of each path (a negative fraction).
        risk_of_ruin: the share of paths whose equity touches ``ruin`` or less.
        ruin: the ruin level used.
    """

    quantiles: tuple[float, ...]
    bands: np.ndarray
    final: np.ndarray
    max_drawdown: np.ndarray
    risk_of_ruin: float
    ruin: float

    def summary(self) -> dict[str, float]:
        """Final equity's mean and 5/50/95 % quantiles, the drawdown's, risk of ruin and the number of paths."""
        return {"final_mean": float(self.final.mean()), **_quantile_keys("final", self.final),
                "max_drawdown_mean": float(self.max_drawdown.mean()),
                **_quantile_keys("max_drawdown", self.max_drawdown), "risk_of_ruin": self.risk_of_ruin,
                "n": float(self.final.size)}


@dataclass(frozen=True, eq=False)
class BlockBootstrapResult:
    """Block-bootstrapped return paths.

    Attributes:
        paths: ``T × n`` resampled returns, one path per column.
        indices: ``T × n`` the row of the original returns behind each value (``paths = returns[indices]``).
        block: the (mean, for ``"stationary"``) block length.
        method: ``"circular"`` or ``"stationary"``.
    """

    paths: np.ndarray
    indices: np.ndarray
    block: int
    method: str

    def prices(self, start: float = 1.0) -> np.ndarray:
        """``T × n`` price paths ``start · cumprod(1 + r)`` of the resampled simple returns."""
        return np.asarray(start * np.cumprod(1.0 + self.paths, axis=0))

    def summary(self) -> dict[str, float]:
        """Mean return over all paths, the spread (sd) of the paths' means, total compounded return quantiles."""
        totals = np.prod(1.0 + self.paths, axis=0) - 1.0
        return {"mean": float(self.paths.mean()), "path_mean_sd": float(self.paths.mean(axis=0).std(ddof=1))
                if self.paths.shape[1] > 1 else math.nan, **_quantile_keys("total_return", totals),
                "block": float(self.block), "n": float(self.paths.shape[1])}


def _trades(pnl: np.ndarray, cash: float, ruin: float) -> np.ndarray:
    p = np.ascontiguousarray(pnl, dtype=np.float64)
    if p.ndim != 1 or p.size == 0:
        msg = f"pnl must be a non-empty 1-D array of trade PnL; got shape {p.shape}"
        raise RobustnessError(msg)
    if not np.all(np.isfinite(p)):
        msg = "pnl must be finite; found NaN or inf"
        raise RobustnessError(msg)
    if not (math.isfinite(cash) and cash > 0):
        msg = f"cash must be a positive number (the equity before the first trade); got {cash!r}"
        raise RobustnessError(msg)
    if not (math.isfinite(ruin) and ruin < cash):
        msg = f"ruin must be a number below cash ({cash:g}); got {ruin!r}"
        raise RobustnessError(msg)
    return p


def _count(n: int, name: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        msg = f"{name} must be a positive integer; got {n!r}"
        raise RobustnessError(msg)
    return int(n)


def shuffle_trades(pnl: np.ndarray, cash: float, *, n: int = 10_000, seed: Seed = None,
                   ruin: float = 0.0) -> ShuffleResult:
    """Equity paths of the same trades in ``n`` random orders: the drawdown and ruin the order could have brought.

    Each path is a uniform random permutation ``π`` of the trades; equity ``E_k = cash + Σ_{i<=k} pnl[π(i)]``,
    drawdown ``E_k / max(cash, E_0..E_k) - 1``. The final equity is ``cash + Σ pnl`` on every path, summed
    exactly enough that it is the same float (the correctly rounded total) whatever the order. Risk of ruin
    is ``P(min_k E_k <= ruin)``. (Monte Carlo trade reshuffling, as in the trading-system literature; the
    permutation test of Efron & Tibshirani 1993, ch. 15.)

    >>> result = shuffle_trades(np.array([50.0, -80.0, 30.0, -20.0]), 100.0, n=200, seed=1)
    >>> float(result.final[0]), bool(np.all(result.final == result.final[0]))
    (80.0, True)
    """
    p = _trades(pnl, cash, ruin)
    paths = _count(n)
    final = np.empty(paths)
    max_dd = np.empty(paths)
    low = np.empty(paths)
    shuffle_nb(p, float(cash), np.random.default_rng(seed), final, max_dd, low)
    equity = cash + np.cumsum(p)
    peak = np.maximum(np.maximum.accumulate(equity), cash)
    return ShuffleResult(final=final, max_drawdown=max_dd, min_equity=low,
                         actual_max_drawdown=min(0.0, float((equity / peak - 1.0).min())),
                         risk_of_ruin=float(np.mean(low <= ruin)), ruin=float(ruin))


def bootstrap_trades(pnl: np.ndarray, cash: float, *, n: int = 10_000, seed: Seed = None,
                     quantiles: tuple[float, ...] = (0.05, 0.5, 0.95), ruin: float = 0.0) -> BootstrapResult:
    """Equity paths of trades drawn with replacement: bands for the equity curve, final value and drawdown.

    Each path draws ``len(pnl)`` trades i.i.d. from the empirical distribution of ``pnl`` (Efron's bootstrap),
    ``E_k = cash + Σ_{i<=k} pnl[J_i]`` with ``J_i`` uniform on the trades. ``bands[q, k]`` is the ``q`` quantile of
    ``E_k`` over the paths (percentile bands, ``numpy.quantile``'s linear interpolation). Memory: the paths
    are held at once, ``8 · n · (len(pnl) + 1)`` bytes.

    >>> result = bootstrap_trades(np.array([10.0, -5.0, 20.0]), 100.0, n=1000, seed=0)
    >>> result.bands.shape, float(result.bands[1, 0])  # three quantiles, four points; every path starts at cash
    ((3, 4), 100.0)
    """
    p = _trades(pnl, cash, ruin)
    paths = _count(n)
    qs = tuple(float(q) for q in quantiles)
    if not qs or not all(0.0 <= q <= 1.0 for q in qs):
        msg = f"quantiles must be levels in [0, 1]; got {quantiles!r}"
        raise RobustnessError(msg)
    rng = np.random.default_rng(seed)
    m = p.size
    equity = np.empty((paths, m + 1))
    equity[:, 0] = cash
    chunk = max(1, _CHUNK_VALUES // m)
    for start in range(0, paths, chunk):
        stop = min(paths, start + chunk)
        draws = p[rng.integers(0, m, size=(stop - start, m))]
        np.cumsum(draws, axis=1, out=equity[start:stop, 1:])
    equity[:, 1:] += cash
    peak = np.maximum.accumulate(equity, axis=1)
    max_dd = (equity / peak - 1.0).min(axis=1)
    return BootstrapResult(quantiles=qs, bands=np.quantile(equity, qs, axis=0), final=equity[:, -1].copy(),
                           max_drawdown=max_dd, risk_of_ruin=float(np.mean(equity.min(axis=1) <= ruin)),
                           ruin=float(ruin))


def block_bootstrap(returns: np.ndarray, *, n: int = 1000, block: int | None = None, seed: Seed = None,
                    method: Literal["circular", "stationary"] = "circular") -> BlockBootstrapResult:
    """Resample a return series in blocks, keeping its short-range dependence (autocorrelation, volatility clusters).

    ``"circular"`` (Politis & Romano 1992, the default): each path is ``ceil(T / b)`` blocks of ``b``
    consecutive returns, each starting at a uniform random row and wrapping from the last row to the first,
    cut to ``T``. ``"stationary"`` (Politis & Romano 1994): each return continues the current block with
    probability ``1 - 1/b`` or starts a new one at a uniform random row (geometric block lengths of mean
    ``b``, wrapping likewise). Either way every position of a path is each original row with probability
    ``1/T``, so a path's mean equals the sample mean in expectation. The default ``b = ceil(T^(1/3))``
    is the usual rate-optimal order for the variance of the mean (Hall, Horowitz & Jing 1995).

    Args:
        returns: 1-D per-period returns, ``T >= 2``.
        n: the number of paths.
        block: the block length ``b`` (mean length for ``"stationary"``), 1 <= b <= T; ``b = 1`` is the i.i.d.
            bootstrap.
        seed: seeds :func:`numpy.random.default_rng`.
        method: ``"circular"`` or ``"stationary"``.

    >>> result = block_bootstrap(np.array([0.01, -0.02, 0.03, 0.0, 0.01]), n=3, block=2, seed=0)
    >>> result.paths.shape, result.block
    ((5, 3), 2)
    """
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 1 or r.size < 2:
        msg = f"returns must be a 1-D array of at least 2 per-period returns; got shape {r.shape}"
        raise RobustnessError(msg)
    if not np.all(np.isfinite(r)):
        msg = "returns must be finite; found NaN or inf"
        raise RobustnessError(msg)
    t = r.size
    paths = _count(n)
    b = math.ceil(t ** (1.0 / 3.0) - 1e-9) if block is None else _count(block, "block")
    if b > t:
        msg = f"block must not exceed the number of returns ({t}); got {b}"
        raise RobustnessError(msg)
    rng = np.random.default_rng(seed)
    if method == "circular":
        blocks = -(-t // b)
        starts = rng.integers(0, t, size=(blocks, paths))
        idx = (starts[:, None, :] + np.arange(b)[None, :, None]).reshape(blocks * b, paths)[:t] % t
    elif method == "stationary":
        fresh = rng.random((t, paths)) < 1.0 / b
        fresh[0] = True
        starts = rng.integers(0, t, size=(t, paths))
        rows = np.arange(t)[:, None]
        last = np.maximum.accumulate(np.where(fresh, rows, 0), axis=0)
        idx = (np.take_along_axis(starts, last, axis=0) + rows - last) % t
    else:
        msg = f"method must be 'circular' or 'stationary'; got {method!r}"
        raise RobustnessError(msg)
    return BlockBootstrapResult(paths=r[idx], indices=idx, block=b, method=method)
