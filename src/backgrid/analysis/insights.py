"""Insights: numbered, deterministic statements about a backtest, each citing its numbers and its threshold.

An :class:`Insight` is ``{id, severity, title, message, numbers}``: a stable snake_case ``id`` (one per
outcome of a rule, ``few_trades`` or ``enough_trades``), a ``severity`` (``info``, ``good``, ``warning``,
``danger``) that a web app shows as a badge, and a ``message`` that writes every value of ``numbers`` (the
figures it was judged on and the threshold) as :func:`~backgrid.analysis.readings.format_value` does with the
format of :data:`NUMBER_FORMATS`. Every outcome, its severity, thresholds and the reference for them are
declared once, in :data:`RULES`. No language model and no re-run: the statements come from the result's
statistics and trade records, and from what the caller passes (regime statistics, robustness figures, a
benchmark's statistics).

The rules, in the order :func:`insights` states them:

* confidence: closed trades against :data:`MIN_TRADES`; the probabilistic Sharpe ratio against
  :data:`MIN_PSR`;
* overfitting, when given: the deflated Sharpe ratio against :data:`MIN_DSR`, the probability of backtest
  overfitting against :data:`MAX_PBO`, the parameter plateau (``sensitivity``: the neighbours' score over the
  best's, see :func:`backgrid.robustness.plateau`) against :data:`MIN_SENSITIVITY`, closed trades per free
  parameter against :data:`MIN_TRADES_PER_PARAMETER`;
* costs: the closed trades' net PnL with every cost paid once more, ``sum(pnl - commission - slippage -
  borrow)``. This is an approximation of a run at 2x costs: sizes and fills are kept as they were, where a
  real run at 2x slippage fills worse and, sized by equity, trades slightly smaller (and may skip an entry it
  can no longer afford). :func:`backgrid.robustness.cost_stress` re-runs the strategy instead. A run that
  paid no costs at all says so (``no_costs``) instead;
* short selling: the unlimited loss of a short position; the borrow cost's share of the short trades' PnL
  before borrow against :data:`MAX_BORROW_SHARE`;
* regime dependence, given a regime table: the edge sits in one regime when the best regime holds more than
  :data:`MAX_REGIME_SHARE` of the summed positive regime returns, or when every other regime lost or made
  nothing;
* the benchmark (buy and hold of the traded symbol by default); exposure and the worst drawdown, in the
  bands of :data:`backgrid.analysis.readings.SCALES`.

``plain=True`` writes every title and message without jargon ("chance the edge is real" for the
probabilistic Sharpe ratio).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import pandas as pd

from backgrid.analysis.readings import SCALES, Format, band, band_bounds, band_range, format_value
from backgrid.engine.result import Result
from backgrid.errors import ColumnError, RobustnessError

__all__ = [
    "COST_MULTIPLE", "MAX_BORROW_SHARE", "MAX_PBO", "MAX_REGIME_SHARE", "MIN_DSR", "MIN_PSR", "MIN_SENSITIVITY",
    "MIN_TRADES", "MIN_TRADES_PER_PARAMETER", "NUMBER_FORMATS", "RULES", "Insight", "Rule", "insights",
    "stored_insights",
]

Severity = Literal["info", "good", "warning", "danger"]

#: closed trades for statistics worth a first look (central limit rule of thumb)
MIN_TRADES = 30
#: probabilistic Sharpe ratio for 95 % confidence that the true Sharpe ratio is above zero
MIN_PSR = 0.95
#: deflated Sharpe ratio, the same 95 % after the number of trials
MIN_DSR = 0.95
#: probability of backtest overfitting above which the in-sample best is more likely than not below the median
MAX_PBO = 0.5
#: the parameter plateau: neighbours' mean score over the best's
MIN_SENSITIVITY = 0.5
#: closed trades per free parameter (the one-in-ten rule)
MIN_TRADES_PER_PARAMETER = 10
#: the borrow cost's share of the short trades' PnL before it
MAX_BORROW_SHARE = 0.25
#: the best regime's share of the summed positive regime returns
MAX_REGIME_SHARE = 0.8
#: the cost multiple the edge must survive
COST_MULTIPLE = 2

_CLT = "rule of thumb: about 30 observations for a sample mean to be near normal (central limit theorem)"
_PSR = "Bailey & López de Prado (2012), The Sharpe ratio efficient frontier: 95 % confidence"
_DSR = "Bailey & López de Prado (2014), The deflated Sharpe ratio: 95 % confidence"
_PBO = "Bailey, Borwein, López de Prado & Zhu (2017), The probability of backtest overfitting: PBO > 0.5"
_PLATEAU = "rule of thumb: neighbours keeping half the best score are a plateau, not a spike"
_EPV = ("rule of thumb: the one-in-ten rule of regression, 10 events per variable (Peduzzi et al. 1996), "
        "read as closed trades per free parameter")
_BORROW = "rule of thumb: a quarter of the short PnL to the lender is a large share"
_COSTS = "rule of thumb: an edge that does not survive 2x costs is too thin for real trading"
_REGIME = "rule of thumb: 80 % of the gains in one regime is an edge in that regime only"
_SHORT = "a short position loses as the price rises, and a price has no ceiling"
_BANDS = "the bands of backgrid.analysis.readings.SCALES"
_DRAWDOWN_SEVERITY: dict[str, Severity] = {"severe": "danger", "deep": "warning", "moderate": "info", "mild": "info"}


@dataclass(frozen=True, slots=True)
class Rule:
    """One outcome of a check: its id, severity, titles, thresholds and where the thresholds come from."""

    id: str
    severity: Severity
    title: str
    plain_title: str
    thresholds: Mapping[str, float] = field(default_factory=dict)
    reference: str = ""


_RULES = [
    Rule("few_trades", "warning", "Too few trades to trust", "Too few trades to trust",
         {"min_trades": MIN_TRADES}, _CLT),
    Rule("enough_trades", "good", "Enough trades for a first judgement", "Enough trades to start judging",
         {"min_trades": MIN_TRADES}, _CLT),
    Rule("sharpe_not_significant", "warning", "Sharpe ratio not significant", "The edge may be luck",
         {"min_psr": MIN_PSR}, _PSR),
    Rule("sharpe_significant", "good", "Sharpe ratio significant", "The edge is unlikely to be luck",
         {"min_psr": MIN_PSR}, _PSR),
    Rule("deflated_sharpe_low", "warning", "Deflated Sharpe ratio too low",
         "The edge may come from trying many settings",
         {"min_dsr": MIN_DSR}, _DSR),
    Rule("deflated_sharpe_ok", "good", "Deflated Sharpe ratio high enough", "The edge survives the settings tried",
         {"min_dsr": MIN_DSR}, _DSR),
    Rule("likely_overfit", "danger", "Likely overfit", "Likely tuned to the past", {"max_pbo": MAX_PBO}, _PBO),
    Rule("overfit_unlikely", "good", "Overfitting not evident", "Not obviously tuned to the past",
         {"max_pbo": MAX_PBO}, _PBO),
    Rule("fragile_parameters", "warning", "Parameters on a spike", "Results depend on exact settings",
         {"min_sensitivity": MIN_SENSITIVITY}, _PLATEAU),
    Rule("stable_parameters", "good", "Parameters on a plateau", "Results hold for nearby settings",
         {"min_sensitivity": MIN_SENSITIVITY}, _PLATEAU),
    Rule("too_many_parameters", "warning", "Too many parameters for the trades", "Too many settings for the trades",
         {"min_trades_per_parameter": MIN_TRADES_PER_PARAMETER}, _EPV),
    Rule("enough_trades_per_parameter", "good", "Enough trades per parameter", "Enough trades per setting",
         {"min_trades_per_parameter": MIN_TRADES_PER_PARAMETER}, _EPV),
    Rule("no_edge", "warning", "Loses money after costs", "Loses money after costs",
         {"cost_multiple": COST_MULTIPLE}, _COSTS),
    Rule("no_costs", "info", "No costs charged", "No trading costs charged", {}, _COSTS),
    Rule("cost_fragile", "danger", "Edge does not survive 2x costs", "Higher costs would wipe out the profit",
         {"cost_multiple": COST_MULTIPLE}, _COSTS),
    Rule("cost_robust", "good", "Edge survives 2x costs", "Profit survives higher costs",
         {"cost_multiple": COST_MULTIPLE}, _COSTS),
    Rule("short_unlimited_loss", "warning", "Short selling: unlimited loss",
         "Bets on falling prices can lose without limit",
         {}, _SHORT),
    Rule("borrow_heavy", "warning", "Borrow cost eats the short PnL", "Borrowing fees eat the falling-price profits",
         {"max_borrow_share": MAX_BORROW_SHARE}, _BORROW),
    Rule("borrow_light", "info", "Borrow cost", "Borrowing fees", {"max_borrow_share": MAX_BORROW_SHARE}, _BORROW),
    Rule("no_borrow_cost", "info", "No borrow cost charged", "No borrowing fees charged", {}, _SHORT),
    Rule("regime_dependent", "warning", "Edge in one regime only", "Works in one kind of market only",
         {"max_regime_share": MAX_REGIME_SHARE}, _REGIME),
    Rule("regime_robust", "good", "Edge across regimes", "Works in several kinds of market",
         {"max_regime_share": MAX_REGIME_SHARE}, _REGIME),
    Rule("trails_benchmark", "warning", "Trails the benchmark", "Simply holding did better"),
    Rule("beats_benchmark", "good", "Beats the benchmark", "Did better than simply holding"),
    *(Rule(f"exposure_{b.verdict.replace('-', '_')}", "info", f"{b.verdict.capitalize()} exposure",
           b.plain.capitalize(),
           {k: v for k, v in zip(("exposure_from", "exposure_to"), band_bounds("exposure", b), strict=True)
            if math.isfinite(v)},
           _BANDS) for b in SCALES["exposure"].bands),
    *(Rule(f"drawdown_{b.verdict}", _DRAWDOWN_SEVERITY[b.verdict],
           f"{b.verdict.capitalize()} drawdown", b.plain.capitalize(),
           {k: v for k, v in zip(("drawdown_from", "drawdown_to"), band_bounds("max_drawdown", b), strict=True)
            if math.isfinite(v)},
           _BANDS) for b in SCALES["max_drawdown"].bands),
    Rule("insights_missing", "info", "No insights stored", "No insights stored", {},
         "a run stored before insights existed"),
]

#: Every outcome of every rule by id, in the order :func:`insights` states them.
RULES: dict[str, Rule] = {r.id: r for r in _RULES}

#: How each key of an insight's ``numbers`` is written in its message (see ``format_value``).
NUMBER_FORMATS: dict[str, Format] = {
    "closed_trades": "count", "min_trades": "count", "psr": "ratio", "min_psr": "ratio", "dsr": "ratio",
    "min_dsr": "ratio", "pbo": "ratio", "max_pbo": "ratio", "sensitivity": "percent", "min_sensitivity": "percent",
    "parameters": "count", "trades_per_parameter": "ratio", "min_trades_per_parameter": "count",
    "net_pnl": "cash", "costs": "cash", "pnl_at_multiple": "cash", "cost_multiple": "count",
    "short_trades": "count", "borrow_paid": "cash", "short_pnl_before_borrow": "cash", "borrow_share": "percent",
    "max_borrow_share": "percent", "regime_return": "percent", "regime_time": "percent",
    "regime_share": "percent", "max_regime_share": "percent", "regimes": "count", "regimes_profitable": "count",
    "total_return": "percent", "benchmark_return": "percent", "gap": "percent", "alpha": "percent",
    "beta": "ratio", "exposure": "percent", "exposure_from": "percent", "exposure_to": "percent",
    "max_drawdown": "loss", "drawdown_from": "loss", "drawdown_to": "loss",
}


@dataclass(frozen=True, slots=True)
class Insight:
    """One statement: ``id`` (a key of :data:`RULES`), badge ``severity``, ``title``, ``message``, ``numbers``."""

    id: str
    severity: Severity
    title: str
    message: str
    numbers: dict[str, float | int]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: ``{id, severity, title, message, numbers}``."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Insight:
        """The insight :meth:`to_dict` wrote."""
        return cls(id=data["id"], severity=data["severity"], title=data["title"], message=data["message"],
                   numbers=dict(data["numbers"]))


def _n(numbers: Mapping[str, float], key: str) -> str:
    return format_value(numbers[key], NUMBER_FORMATS[key])


def _make(rule_id: str, numbers: Mapping[str, float], jargon: str, simple: str, *, plain: bool,
          **words: str) -> Insight:
    """The insight of outcome ``rule_id``: ``jargon`` or ``simple`` formatted with ``numbers`` as written (and
    ``words``, text such as a regime's name)."""
    rule = RULES[rule_id]
    written = {k: _n(numbers, k) for k in numbers}
    return Insight(rule_id, rule.severity, rule.plain_title if plain else rule.title,
                   (simple if plain else jargon).format(**written, **words), dict(numbers))


def _finite(value: Any) -> float | None:
    number = float(value) if value is not None else math.nan
    return number if math.isfinite(number) else None


# -- confidence ---------------------------------------------------------------------------------------------

def _trade_count(closed: int, *, plain: bool) -> Insight:
    numbers = {"closed_trades": closed, "min_trades": MIN_TRADES}
    if closed < MIN_TRADES:
        return _make("few_trades", numbers,
                     "{closed_trades} closed trades: too few to trust the statistics; {min_trades}+ needed.",
                     "{closed_trades} finished trades: too few to tell skill from luck; {min_trades} or more "
                     "needed.", plain=plain)
    return _make("enough_trades", numbers,
                 "{closed_trades} closed trades: enough for a first judgement ({min_trades}+ needed).",
                 "{closed_trades} finished trades: enough to start judging ({min_trades} or more needed).", plain=plain)


def _psr(value: float, *, plain: bool) -> Insight:
    numbers = {"psr": value, "min_psr": MIN_PSR}
    if value < MIN_PSR:
        return _make("sharpe_not_significant", numbers,
                     "Probabilistic Sharpe ratio {psr}: below {min_psr}, the Sharpe ratio could be luck.",
                     "The chance that the edge is real is {psr}, below the {min_psr} wanted: it could be luck.",
                     plain=plain)
    return _make("sharpe_significant", numbers,
                 "Probabilistic Sharpe ratio {psr}: at least {min_psr}, the Sharpe ratio is unlikely to be luck "
                 "(for one test; a search over many settings needs the deflated Sharpe ratio).",
                 "The chance that the edge is real is {psr}, at least the {min_psr} wanted (for one test; "
                 "trying many settings lowers it).", plain=plain)


# -- overfitting --------------------------------------------------------------------------------------------

_ROBUSTNESS_KEYS = ("dsr", "pbo", "sensitivity")


def _robustness_figures(robustness: Any) -> dict[str, float]:
    """``dsr``, ``pbo`` and ``sensitivity`` from a mapping or a :class:`~backgrid.robustness.RobustnessReport`."""
    if robustness is None:
        return {}
    sections = getattr(robustness, "sections", None)
    if isinstance(sections, Mapping):  # a RobustnessReport (read by shape: importing it loads the optimiser)
        found = {"dsr": sections.get("deflated_sharpe", {}).get("dsr"), "pbo": sections.get("pbo", {}).get("pbo"),
                 "sensitivity": sections.get("plateau", {}).get("score")}
    elif isinstance(robustness, Mapping):
        unknown = sorted(set(robustness) - set(_ROBUSTNESS_KEYS))
        if unknown:
            msg = f"robustness: unknown key(s) {', '.join(map(str, unknown))}; expected {', '.join(_ROBUSTNESS_KEYS)}"
            raise RobustnessError(msg)
        found = dict(robustness)
    else:
        msg = f"robustness must be a mapping or a RobustnessReport, got {type(robustness).__name__}"
        raise RobustnessError(msg)
    return {k: v for k in _ROBUSTNESS_KEYS if (v := _finite(found.get(k))) is not None}


def _overfitting(figures: Mapping[str, float], parameters: int | None, closed: int, *,
                 plain: bool) -> list[Insight]:
    out = []
    if "dsr" in figures:
        numbers = {"dsr": figures["dsr"], "min_dsr": MIN_DSR}
        out.append(_make("deflated_sharpe_low", numbers,
                         "Deflated Sharpe ratio {dsr}: below {min_dsr}; counting the trials run to find it, "
                         "the Sharpe ratio could be luck.",
                         "Counting every setting tried, the chance that the edge is real is {dsr}, below the "
                         "{min_dsr} wanted.", plain=plain)
                   if figures["dsr"] < MIN_DSR else
                   _make("deflated_sharpe_ok", numbers,
                         "Deflated Sharpe ratio {dsr}: at least {min_dsr}, counting the trials run to find it.",
                         "Even counting every setting tried, the chance that the edge is real is {dsr} "
                         "({min_dsr} wanted).", plain=plain))
    if "pbo" in figures:
        numbers = {"pbo": figures["pbo"], "max_pbo": MAX_PBO}
        out.append(_make("likely_overfit", numbers,
                         "Probability of backtest overfitting {pbo}: above {max_pbo}, the in-sample best set "
                         "ranks below the median out of sample more often than not.",
                         "The chance that the chosen settings were only lucky on past data is {pbo}, above "
                         "{max_pbo}: they are likely tuned to the past.", plain=plain)
                   if figures["pbo"] > MAX_PBO else
                   _make("overfit_unlikely", numbers,
                         "Probability of backtest overfitting {pbo}: at most {max_pbo}, the in-sample best set "
                         "tends to stay above the median out of sample.",
                         "The chance that the chosen settings were only lucky on past data is {pbo}, at most "
                         "{max_pbo}.", plain=plain))
    if "sensitivity" in figures:
        numbers = {"sensitivity": figures["sensitivity"], "min_sensitivity": MIN_SENSITIVITY}
        out.append(_make("fragile_parameters", numbers,
                         "Neighbouring parameter sets score {sensitivity} of the best, under {min_sensitivity}: "
                         "a spike, not a plateau.",
                         "Slightly different settings keep only {sensitivity} of the result ({min_sensitivity} "
                         "wanted): it depends on the exact settings.", plain=plain)
                   if figures["sensitivity"] < MIN_SENSITIVITY else
                   _make("stable_parameters", numbers,
                         "Neighbouring parameter sets score {sensitivity} of the best, at least "
                         "{min_sensitivity}: a plateau.",
                         "Slightly different settings keep {sensitivity} of the result ({min_sensitivity} "
                         "wanted).", plain=plain))
    if parameters:
        per = closed / parameters
        numbers = {"parameters": parameters, "closed_trades": closed, "trades_per_parameter": per,
                   "min_trades_per_parameter": MIN_TRADES_PER_PARAMETER}
        out.append(_make("too_many_parameters", numbers,
                         "{parameters} free parameters for {closed_trades} closed trades: {trades_per_parameter} "
                         "trades per parameter, under {min_trades_per_parameter}.",
                         "{parameters} settings were tuned on {closed_trades} finished trades: "
                         "{trades_per_parameter} trades per setting, under the {min_trades_per_parameter} wanted.",
                         plain=plain)
                   if per < MIN_TRADES_PER_PARAMETER else
                   _make("enough_trades_per_parameter", numbers,
                         "{parameters} free parameters for {closed_trades} closed trades: {trades_per_parameter} "
                         "trades per parameter ({min_trades_per_parameter} needed).",
                         "{parameters} settings were tuned on {closed_trades} finished trades: "
                         "{trades_per_parameter} trades per setting ({min_trades_per_parameter} wanted).", plain=plain))
    return out


# -- costs and short selling --------------------------------------------------------------------------------

def _costs(closed: pd.DataFrame, *, plain: bool) -> Insight:
    """The edge with every cost paid once more (the module docstring says what this leaves out)."""
    net = float(closed["pnl"].sum())
    costs = float((closed["commission"] + closed["slippage"] + closed["borrow"]).sum())
    if costs == 0:
        return _make("no_costs", {"costs": costs}, "Costs {costs}: the run charged no commission, slippage or "
                     "borrow, so its PnL is an upper bound; set them to a broker's.",
                     "No trading costs ({costs}) were charged, so the result is better than real trading would "
                     "be; set the broker's fees.", plain=plain)
    numbers = {"net_pnl": net, "costs": costs, "pnl_at_multiple": net - (COST_MULTIPLE - 1) * costs,
               "cost_multiple": COST_MULTIPLE}
    if net <= 0:
        return _make("no_edge", numbers,
                     "Net PnL {net_pnl} after costs of {costs}: no edge even at 1x costs ({pnl_at_multiple} at "
                     "{cost_multiple}x).",
                     "The trades ended at {net_pnl} after paying {costs} in costs; with costs {cost_multiple} times "
                     "as high: {pnl_at_multiple}.", plain=plain)
    if numbers["pnl_at_multiple"] <= 0:
        return _make("cost_fragile", numbers,
                     "Net PnL {net_pnl} turns into {pnl_at_multiple} with costs ({costs}) paid {cost_multiple}x: "
                     "the edge does not survive {cost_multiple}x costs.",
                     "The profit of {net_pnl} becomes {pnl_at_multiple} if costs ({costs}) were "
                     "{cost_multiple} times as high: too thin to trade.", plain=plain)
    return _make("cost_robust", numbers,
                 "Net PnL {net_pnl} stays {pnl_at_multiple} with costs ({costs}) paid {cost_multiple}x: the edge "
                 "survives {cost_multiple}x costs.",
                 "The profit of {net_pnl} would still be {pnl_at_multiple} if costs ({costs}) were "
                 "{cost_multiple} times as high.", plain=plain)


def _short_selling(closed: pd.DataFrame, *, plain: bool) -> list[Insight]:
    shorts = closed[closed["side"] == "short"]
    if shorts.empty:
        return []
    count = len(shorts)
    out = [_make("short_unlimited_loss", {"short_trades": count},
                 "{short_trades} short trades: a short position's loss has no limit, as a price can rise "
                 "without bound; a stop-loss caps it.",
                 "{short_trades} trades bet on falling prices: such a bet can lose more than its stake if the "
                 "price keeps rising; a stop-loss caps it.", plain=plain)]
    borrow = float(shorts["borrow"].sum())
    if borrow == 0:
        out.append(_make("no_borrow_cost", {"short_trades": count, "borrow_paid": borrow},
                         "Borrow cost {borrow_paid} on {short_trades} short trades: set borrow_rate, a broker "
                         "charges one.",
                         "No fee ({borrow_paid}) was charged for borrowing what the {short_trades} falling-price "
                         "trades sold; a broker charges one.", plain=plain))
        return out
    before = float(shorts["pnl"].sum()) + borrow
    numbers = {"borrow_paid": borrow, "short_pnl_before_borrow": before, "max_borrow_share": MAX_BORROW_SHARE}
    if before <= 0:
        out.append(_make("borrow_heavy", numbers,
                         "Borrow cost {borrow_paid} on short trades whose PnL before borrow was "
                         "{short_pnl_before_borrow}: it only deepened the loss (over {max_borrow_share} of a gain "
                         "is heavy).",
                         "Borrowing fees of {borrow_paid} came on top of falling-price trades that ended at "
                         "{short_pnl_before_borrow} before them (over {max_borrow_share} of a gain is a lot).",
                         plain=plain))
        return out
    numbers["borrow_share"] = borrow / before
    jargon = ("Borrow cost {borrow_paid} is {borrow_share} of the short trades' PnL before borrow "
              "({short_pnl_before_borrow}); {max_borrow_share} is the limit.")
    simple = ("Borrowing fees of {borrow_paid} took {borrow_share} of what the falling-price trades made "
              "({short_pnl_before_borrow}); over {max_borrow_share} is a lot.")
    heavy = numbers["borrow_share"] > MAX_BORROW_SHARE
    out.append(_make("borrow_heavy" if heavy else "borrow_light", numbers, jargon, simple, plain=plain))
    return out


# -- regimes, benchmark, exposure, drawdown -----------------------------------------------------------------

_REGIME_COLUMNS = ("return", "trades", "time_spent")


def _regimes(table: pd.DataFrame, *, plain: bool) -> Insight | None:
    """Is the edge in one regime only? (rows: regimes, by name in the index; see the module docstring)"""
    missing = [c for c in _REGIME_COLUMNS if c not in table.columns]
    if missing:
        msg = (f"regimes needs column(s) {', '.join(missing)} (one row per regime with return, trades and "
               f"time_spent); got {', '.join(map(str, table.columns))}")
        raise ColumnError(msg)
    returns = table["return"].to_numpy(dtype=float)
    gains = returns[returns > 0]
    if len(table) < 2 or not gains.size:
        return None
    i = int(returns.argmax())
    best = str(table.index[i])
    share = float(returns[i] / gains.sum())
    numbers = {"regime_return": float(returns[i]), "regime_time": float(table["time_spent"].to_numpy(dtype=float)[i]),
               "regime_share": share, "max_regime_share": MAX_REGIME_SHARE}
    alone = len(gains) == 1
    if alone or share > MAX_REGIME_SHARE:
        others = "kind of market" if plain else "regime"
        rest = f"every other {others} lost or made nothing" if alone else f"the other {others}s share the rest"
        return _make("regime_dependent", numbers,
                     "The {regime!r} regime holds {regime_share} of the gains ({regime_return} return, "
                     "{regime_time} of the time); {rest} (over {max_regime_share} flags).",
                     "The profit comes from {regime!r} markets: {regime_share} of it ({regime_return} in "
                     "{regime_time} of the time); {rest} (over {max_regime_share} flags).", regime=best, rest=rest,
                     plain=plain)
    numbers |= {"regimes_profitable": len(gains), "regimes": len(table)}
    return _make("regime_robust", numbers,
                 "{regimes_profitable} of {regimes} regimes made money; the best, {regime!r}, holds {regime_share} "
                 "of the gains ({regime_return} in {regime_time} of the time; over {max_regime_share} would flag).",
                 "It made money in {regimes_profitable} of {regimes} kinds of market; the best, {regime!r}, "
                 "brought {regime_share} of the profit ({regime_return} in {regime_time} of the time; over "
                 "{max_regime_share} would flag).", regime=str(best), plain=plain)


def _benchmark(stats: Mapping[str, Any], benchmark: Mapping[str, Any] | None, *, plain: bool) -> Insight | None:
    source = benchmark if benchmark is not None else {"benchmark_return": stats.get("buy_and_hold_return"),
                                                      "alpha": stats.get("alpha"), "beta": stats.get("beta")}
    name = str(source.get("name", "buy and hold"))
    total = _finite(source.get("total_return", stats.get("total_return")))
    other = _finite(source.get("benchmark_return"))
    if total is None or other is None:
        return None
    numbers: dict[str, float] = {"total_return": total, "benchmark_return": other, "gap": abs(total - other)}
    jargon = "Total return {total_return} against {benchmark_return} for {name}: {gap} {side}"
    simple = "The strategy returned {total_return}; {name} returned {benchmark_return}: {gap} {side}"
    alpha, beta = _finite(source.get("alpha")), _finite(source.get("beta"))
    if alpha is not None and beta is not None:
        numbers |= {"alpha": alpha, "beta": beta}
        jargon += "; alpha {alpha} a year, beta {beta}"
        simple += "; apart from following it, it earned {alpha} a year and moved {beta} times as much"
    behind = total < other
    return _make("trails_benchmark" if behind else "beats_benchmark", numbers, jargon + ".", simple + ".",
                 name=name, side="behind" if behind else "ahead", plain=plain)


def _band_insight(prefix: str, metric: str, value: float, *, plain: bool) -> Insight:
    """The exposure or drawdown insight of the band of :data:`SCALES` that ``value`` falls in."""
    chosen = band(metric, value)
    low, high = band_bounds(metric, chosen)
    numbers = {metric: value} | {f"{prefix}_{k}": v for k, v in (("from", low), ("to", high)) if math.isfinite(v)}
    limits = f"{band_range(metric, chosen)} is {chosen.verdict}"  # the band's bounds, as numbers writes them
    if metric == "max_drawdown":
        jargon = "Maximum drawdown {max_drawdown}: it could lose {max_drawdown} in a bad period ({limits})."
        simple = "It could lose {max_drawdown} in a bad period: its worst fall from a peak ({limits})."
    else:
        jargon = "Exposure {exposure}: {reading} ({limits})."
        simple = "In the market {exposure} of the time ({limits})."
    return _make(f"{prefix}_{chosen.verdict.replace('-', '_')}", numbers, jargon, simple, limits=limits,
                 reading=chosen.plain, plain=plain)


# -- the public functions -----------------------------------------------------------------------------------

def _column_view(result: Result, column: Any) -> tuple[dict[str, Any], pd.DataFrame]:
    """The statistics and the closed trades of one column of ``result``."""
    alone = result.column(column)
    trades = alone.trades
    return {str(k): v for k, v in alone.stats.items()}, trades[~trades["open"]]


def insights(result: Result, *, column: Any = None, plain: bool = False, regimes: pd.DataFrame | None = None,
             robustness: Mapping[str, float] | Any = None, parameters: int | None = None,
             benchmark: Mapping[str, Any] | None = None) -> list[Insight]:
    """Every insight that ``result`` (one column: ``column``, default the first) and the figures given allow.

    ``regimes``: one row per regime (named by the index) with the strategy's ``return``, ``trades`` and
    ``time_spent`` there (:func:`backgrid.analysis.regimes.regime_stats`). ``robustness``: a mapping with any
    of ``dsr``, ``pbo``, ``sensitivity``, or a :class:`~backgrid.robustness.RobustnessReport` (its deflated
    Sharpe ratio, PBO and plateau score). ``parameters``: the number of free (searched) parameters.
    ``benchmark``: :func:`~backgrid.analysis.benchmarks.benchmark_stats` (``benchmark_return``, ``alpha``,
    ``beta``, optionally ``name`` and ``total_return``; default: the result's own buy and hold from its
    first bar). ``plain=True`` writes every title and message without jargon.
    """
    stats, closed = _column_view(result, column)
    count = len(closed)
    out = [_trade_count(count, plain=plain)]
    psr = _finite(stats.get("probabilistic_sharpe_ratio"))
    if psr is not None:
        out.append(_psr(psr, plain=plain))
    out += _overfitting(_robustness_figures(robustness), parameters, count, plain=plain)
    if count:
        out.append(_costs(closed, plain=plain))
    out += _short_selling(closed, plain=plain)
    regime = _regimes(regimes, plain=plain) if regimes is not None else None
    compared = _benchmark(stats, benchmark, plain=plain)
    out += [i for i in (regime, compared) if i is not None]
    for prefix, metric in (("exposure", "exposure"), ("drawdown", "max_drawdown")):
        value = _finite(stats.get(metric))
        if value is not None:
            out.append(_band_insight(prefix, metric, value, plain=plain))
    return out


def stored_insights(stored: Mapping[str, Any] | None, *, plain: bool = False) -> list[Insight]:
    """The insights of a stored run (its ``"insights"``: a list of :meth:`Insight.to_dict`), or the one hint
    ``insights_missing`` ("run it again to see insights") for a run stored before insights existed."""
    if stored is not None and "insights" in stored:
        return [Insight.from_dict(d) for d in stored["insights"]]
    rule = RULES["insights_missing"]
    message = ("This run was stored before insights existed: run it again to see insights." if not plain else
               "This run was saved before insights existed: run it again to see them.")
    return [Insight(rule.id, rule.severity, rule.plain_title if plain else rule.title, message, {})]

