"""``report``: every robustness check of one strategy and parameter set, in one object.

It runs the strategy once, then: Monte Carlo of its trades (order shuffles: drawdown and risk of ruin; a
bootstrap: equity bands), the deflated Sharpe ratio with the trial ledger's count and variance of trials,
random entries (significance), parameter jitter, 2x and 3x costs, resampled price paths and, given the
search that chose the set, its plateau and PBO.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backgrid.data.bars import Bars
from backgrid.engine.result import Result
from backgrid.metrics.registry import periods_per_year
from backgrid.optimize.ledger import TrialLedger
from backgrid.optimize.search import OptimizeResult, as_target
from backgrid.robustness.checks import cost_stress, jitter, plateau, random_entries, resampled_paths, trials_pbo
from backgrid.robustness.montecarlo import BootstrapResult, ShuffleResult, bootstrap_trades, shuffle_trades
from backgrid.robustness.sharpe import dsr, psr

__all__ = ["RobustnessReport", "report"]


@dataclass
class RobustnessReport:
    """What each check found; ``sections`` maps a check's name to its numbers (see :meth:`summary`)."""

    name: str
    params: dict[str, Any]
    result: Result
    sections: dict[str, dict[str, float]]
    shuffles: ShuffleResult | None = None
    bootstrap: BootstrapResult | None = None
    random: np.ndarray | None = field(default=None, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per (check, figure)."""
        rows = [(check, key, value) for check, figures in self.sections.items() for key, value in figures.items()]
        return pd.DataFrame(rows, columns=["check", "figure", "value"])

    def summary(self) -> str:
        """Plain lines, one per check, in an 80-column terminal."""
        s = self.sections
        lines = [f"robustness of {self.name} ({', '.join(f'{k}={v}' for k, v in self.params.items())})"]
        if "deflated_sharpe" in s:
            d = s["deflated_sharpe"]
            lines.append(f"  deflated Sharpe {d['dsr']:.3f} over {d['trials']:.0f} trial(s) "
                         f"(probabilistic Sharpe {d['psr']:.3f})")
        if "significance" in s:
            d = s["significance"]
            lines.append(f"  random entries: p = {d['p_value']:.3f} ({d['runs']:.0f} runs; median "
                         f"{d['random_median']:.4g}, actual {d['actual']:.4g})")
        if "shuffles" in s:
            d = s["shuffles"]
            lines.append(f"  trade shuffles: 5 % of orders draw down {d['max_drawdown_q05']:.2%} or more "
                         f"(actual {d['actual_max_drawdown']:.2%})")
            lines.append(f"  risk of ruin over {d['n']:,.0f} trade orders: {d['risk_of_ruin']:.2%}")
        if "costs" in s:
            d = s["costs"]
            lines.append("  costs: " + ", ".join(f"{k} {v:.3g}" for k, v in d.items()))
        if "jitter" in s:
            d = s["jitter"]
            lines.append(f"  ±{d['fraction']:.0%} jitter: median {d['median']:.3g} vs {d['base']:.3g}, "
                         f"{d['share_10pct_worse']:.0%} lose over 10 %")
        if "paths" in s:
            d = s["paths"]
            lines.append(f"  resampled prices: median {d['median']:.3g}, {d['share_positive']:.0%} of "
                         f"{d['paths']:.0f} paths positive")
        if "plateau" in s:
            lines.append(f"  plateau: neighbours at {s['plateau']['score']:.0%} of the peak")
        if "pbo" in s:
            d = s["pbo"]
            lines.append(f"  PBO {d['pbo']:.2f}, probability of loss {d['probability_of_loss']:.2f}")
        return "\n".join(lines)

    def figures(self) -> list[Any]:
        """Plotly figures: bootstrap equity bands, shuffled drawdowns, random entries' distribution."""
        from backgrid.charts.robustness import figures  # noqa: PLC0415  # plotly for plots only

        return figures(self)

    def plot(self, path: str | Path) -> Path:
        """Write :meth:`figures` to one self-contained HTML file; returns its path."""
        from backgrid.charts.trials import save_html  # noqa: PLC0415  # plotly for plots only

        return Path(save_html(self.figures(), path, title=f"{self.name}: robustness"))


def report(strategy: Any, data: Bars, *, params: Mapping[str, Any] | None = None,
           search: OptimizeResult | None = None, options: Mapping[str, Any] | None = None,
           shuffles: int = 10_000, random_runs: int = 500, jitter_sets: int = 50, paths: int = 50,
           metric: str = "sharpe_ratio", seed: int = 0, ledger: TrialLedger | bool = True,
           family: str | None = None) -> RobustnessReport:
    """Run every check on ``strategy`` with ``params`` (default: the search's best, else the declared defaults).

    ``search`` (the optimisation that chose the set) adds its plateau and PBO; the deflated Sharpe ratio takes
    the number of trials and their variance from the trial ledger of ``family`` (default: the strategy's
    name), or from ``search`` without a ledger. A count of 0 skips a check.
    """
    target = search.target if search is not None else as_target(strategy, options)
    chosen = dict(params) if params is not None else (search.best if search is not None else
                                                       {p.param: p.default for p in target.parameters})
    result = target.run(data, [chosen])
    sections: dict[str, dict[str, float]] = {}
    equity = result.equity.to_numpy().ravel()
    returns = equity[1:] / equity[:-1] - 1.0 if equity.size > 1 else np.zeros(0)
    sections["deflated_sharpe"] = _deflated(returns, target.name if family is None else family, ledger=ledger,
                                             search=search)
    pnl = result.records["pnl"]
    cash = float(result.params["cash"][0])
    shuffled = booted = None
    if shuffles and pnl.size:
        shuffled = shuffle_trades(pnl, cash, n=shuffles, seed=seed)
        booted = bootstrap_trades(pnl, cash, n=min(shuffles, 2000), seed=seed)
        sections["shuffles"] = dict(shuffled.summary())
        sections["bootstrap"] = dict(booted.summary())
    random = None
    if random_runs and pnl.size:
        significance = random_entries(target, data, chosen, n=random_runs, seed=seed, metric="total_return")
        sections["significance"] = significance.summary()
        random = significance.random
    if jitter_sets:
        sections["jitter"] = jitter(target, data, chosen, n=jitter_sets, seed=seed, metric=metric).summary()
    sections["costs"] = cost_stress(target, data, chosen, metric=metric).summary()
    if paths:
        sections["paths"] = resampled_paths(target, data, chosen, n=paths, seed=seed, metric=metric).summary()
    if search is not None:
        sections["plateau"] = {"score": plateau(search)}
        found = trials_pbo(search)
        sections["pbo"] = {"pbo": found.pbo, "probability_of_loss": found.probability_of_loss,
                           "degradation_slope": found.degradation[0]}
    return RobustnessReport(target.name, chosen, result, sections, shuffled, booted, random)


def _deflated(returns: np.ndarray, family: str, *, ledger: TrialLedger | bool,
              search: OptimizeResult | None) -> dict[str, float]:
    """PSR and DSR of the run, with the ledger's (or the search's) number of trials and their variance."""
    book = TrialLedger() if ledger is True else (ledger or None)
    trials, variance = 1, 0.0
    if book is not None:
        known = book.summary(family)
        trials, variance = max(known.trials, 1), known.sharpe_variance
    elif search is not None and "sharpe_ratio" in search.trials:
        sharpe = search.trials["sharpe_ratio"].to_numpy(dtype=np.float64)
        sharpe = sharpe[np.isfinite(sharpe)]
        trials = len(search.trials)
        if sharpe.size > 1:
            bars = search.data if isinstance(search.data, Bars) else None
            ppy = _ppy(bars) if bars is not None else 1.0
            variance = float(np.var(sharpe / math.sqrt(ppy), ddof=1))
    if not math.isfinite(variance):
        variance = 0.0
    if returns.size < 3 or not np.isfinite(returns).all() or returns.std() == 0:  # PSR's minimum
        return {"psr": math.nan, "dsr": math.nan, "trials": float(trials), "trials_variance": variance}
    probabilistic = psr(returns)
    deflated = dsr(returns, n_trials=trials, trials_variance=variance) if trials > 1 else probabilistic
    return {"psr": probabilistic, "dsr": deflated, "trials": float(trials), "trials_variance": variance}


def _ppy(bars: Bars) -> float:
    return periods_per_year(bars.timeframe.nanos, bars.calendar)
