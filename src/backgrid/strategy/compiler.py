"""Compile a strategy into engine input and run it.

``compile_strategy`` turns a :class:`~backgrid.strategy.spec.Strategy` and its bars
into the keyword arguments of :func:`backgrid.backtest`: indicators computed once
per distinct parameter set, other timeframes aligned without look-ahead, rules
evaluated into entry and exit arrays, stops, sizing, costs and guards translated
from percentages to the engine's fractions. A sweep of declared parameters runs
as columns of one engine call. ``run`` does both and returns the engine's Result.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from backgrid.data.bars import Bars, MultiBars
from backgrid.data.calendar import DAY_NS, local_nanos, session_days
from backgrid.data.timeframe import Timeframe
from backgrid.engine.options import OPTIONS
from backgrid.engine.result import Result
from backgrid.engine.run import backtest
from backgrid.errors import OptionError, SpecError
from backgrid.metrics.registry import periods_per_year
from backgrid.strategy.bounds import SIZE_TYPES, option_path
from backgrid.strategy.columns import stack
from backgrid.strategy.evaluate import Evaluator, IndicatorCache
from backgrid.strategy.references import rules_of
from backgrid.strategy.regime import regime_mask
from backgrid.strategy.spec import WEEKDAYS, Parameter, Stop, Strategy, did_you_mean
from backgrid.strategy.sweep import rule_columns

__all__ = ["Compiled", "combinations", "compile_strategy", "given_sets", "parameter_sets", "run"]


@dataclass(frozen=True)
class Compiled:
    """A strategy ready for the engine: ``backtest(data, **kwargs)``."""

    strategy: Strategy
    data: Bars | MultiBars
    kwargs: dict[str, Any]
    parameter_sets: list[dict[str, Any]]
    #: bars before every rule of the strategy is defined (the largest over parameter sets and symbols)
    warmup: int
    #: how many indicator computations ran (distinct parameter sets), and how many were asked for
    indicator_runs: tuple[int, int] = field(default=(0, 0))

    def run(self, **options: Any) -> Result:
        """Run the engine on the compiled input; ``options`` add to it (``keep_equity=False``...).

        An engine option the document sets out of range is a :class:`SpecError` at the document's path; a
        warm-up as long as the data is a warning on the result.
        """
        try:
            result = backtest(self.data, **(self.kwargs | options))
        except OptionError as exc:
            raise SpecError([(option_path(exc.option), str(exc))], source=self.strategy.name) from exc
        bars = len(self.data)
        if self.warmup >= bars:
            result.warnings.insert(0, f"the rules' warm-up covers all {bars:,} bars of the data: no rule can fire; "
                                      "load more history or shorten the indicators")
        return result


def parameter_sets(strategy: Strategy, sweep: Mapping[str, Sequence[Any]] | None = None) -> list[dict[str, Any]]:
    """Every combination of the swept values, other parameters at their defaults (in declaration order)."""
    return combinations(strategy.parameters, sweep)


def combinations(parameters: Sequence[Parameter], sweep: Mapping[str, Sequence[Any]] | None = None,
                 ) -> list[dict[str, Any]]:
    """Every combination of ``sweep``'s values over the declared ``parameters`` (the rest at their defaults)."""
    declared = {p.param: p for p in parameters}
    sweep = dict(sweep or {})
    problems = []
    for name, values in sweep.items():
        if name not in declared:
            problems.append((f"sweep.{name}", (f"unknown parameter{did_you_mean(name, declared)}; declared "
                             f"parameters are {', '.join(declared) or 'none'}")))
            continue
        param = declared[name]
        if isinstance(values, str) or not isinstance(values, Sequence | np.ndarray | range) or len(values) == 0:
            problems.append((f"sweep.{name}", f"expected a non-empty list of values, got {values!r}"))
            continue
        outside = [v for v in values if not param.min <= v <= param.max]
        if outside:
            problems.append((f"sweep.{name}", (f"{outside[0]} is outside the declared range "
                             f"[{param.min}, {param.max}]")))
    if problems:
        raise SpecError(problems)
    names = list(sweep)
    sets = []
    for combo in itertools.product(*(list(sweep[name]) for name in names)):
        chosen: dict[str, Any] = {p.param: p.default for p in parameters}
        chosen.update(zip(names, (v.item() if isinstance(v, np.generic) else v for v in combo), strict=True))
        sets.append(chosen)
    return sets


def given_sets(parameters: Sequence[Parameter], sets: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each of ``sets`` completed with the declared defaults, every value checked against its declaration."""
    declared = {p.param: p for p in parameters}
    problems = []
    out = []
    for k, values in enumerate(sets):
        for name, value in values.items():
            param = declared.get(name)
            if param is None:
                problems.append((f"sets[{k}].{name}", (f"unknown parameter{did_you_mean(name, declared)}; declared "
                                 f"parameters are {', '.join(declared) or 'none'}")))
            elif isinstance(value, bool) or not isinstance(value, int | float | np.number):
                problems.append((f"sets[{k}].{name}", f"expected a number, got {value!r}"))
            elif not param.min <= value <= param.max:
                problems.append((f"sets[{k}].{name}", (f"{value} is outside the declared range "
                                 f"[{param.min}, {param.max}]")))
        out.append({p.param: p.default for p in parameters}
                   | {k: (v.item() if isinstance(v, np.generic) else v) for k, v in values.items()})
        if len(problems) > 10:  # enough to see the pattern
            break
    if problems:
        raise SpecError(problems)
    return out


def _window(strategy: Strategy, bars: Bars) -> Bars:
    market = strategy.market
    bars = bars.slice(market.start, market.end) if market.start or market.end else bars
    if market.period and len(bars):
        count, unit = int(market.period.rstrip("dwmoy")), market.period.lstrip("0123456789")
        last = pd.Timestamp(int(bars.ts[-1]), tz="UTC")
        offset = {"d": pd.DateOffset(days=count), "w": pd.DateOffset(weeks=count),
                  "mo": pd.DateOffset(months=count), "y": pd.DateOffset(years=count)}[unit]
        bars = bars.slice(last - offset, None)
    if len(bars) == 0:
        msg = f"no bars of {bars.symbol} {bars.timeframe} in the strategy's date range"
        raise SpecError([("market", msg)])
    return bars


def _entry_mask(strategy: Strategy, bars: Bars) -> tuple[np.ndarray | None, int]:
    """Where entries may stand (None: everywhere): in the session and in an allowed regime; and the regime's
    warm-up (0 without one)."""
    session = _session_mask(strategy, bars)
    if strategy.entries.regime is None:
        return session, 0
    regime, warmup = regime_mask(strategy.entries.regime, bars)
    return (regime if session is None else session & regime), warmup


def _session_mask(strategy: Strategy, bars: Bars) -> np.ndarray | None:
    session = strategy.market.session
    if session is None:
        return None
    local = local_nanos(bars.ts, session.timezone)
    keep = np.ones(len(bars), dtype=np.bool_)
    window = session.minutes()
    if window is not None:
        minute = (local % DAY_NS) // 60_000_000_000
        start, end = window
        keep &= (minute >= start) & (minute < end) if start < end else (minute >= start) | (minute < end)
    if session.weekdays is not None:
        weekday = (local // DAY_NS + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
        keep &= np.isin(weekday, [WEEKDAYS.index(d) for d in session.weekdays])
    return keep


def _stop(ev: Evaluator, stop: Stop | None, sl: tuple[str, Any] | None = None) -> tuple[str, Any] | None:
    """A stop as ``("fraction", x)`` or ``("distance", per-bar array or number)``; ``sl`` is the stop-loss
    (for r-multiples)."""
    if stop is None:
        return None
    amount = float(ev.resolve(stop.amount))
    if stop.kind == "percent":
        return "fraction", amount / 100
    if stop.kind == "distance":
        return "distance", amount
    if stop.kind == "atr":
        outputs, _ = ev.module("atr", {"period": stop.period})
        return "distance", outputs["atr"] * amount
    assert sl is not None  # noqa: S101  # the model refuses an r-multiple without a stop-loss
    kind, base = sl
    return kind, base * amount


def _session_ends(strategy: Strategy, bars: Bars) -> np.ndarray | None:
    """For ``end_of_session``: True on the last bar of each trading day (not on the data's last bar)."""
    if not strategy.exits.end_of_session:
        return None
    day = session_days(bars.ts, bars.calendar)
    return np.append(day[1:] != day[:-1], False)


#: the engine argument of each top-level rule
_SIGNAL_OF = {"entries.long": "entries", "entries.short": "short_entries", "exits.long": "exits",
              "exits.short": "short_exits"}


def _engine_kwargs(strategy: Strategy, ev: Evaluator, bars: Bars, flat_at: np.ndarray | None) -> dict[str, Any]:
    """The ``backtest`` arguments of one parameter set on one symbol but its signals (:func:`_signals` writes
    those for all the sets at once).

    ``flat_at`` (session ends) depends on the bars only: worked out once per symbol, not per parameter set.
    """
    kwargs: dict[str, Any] = {}
    exits = strategy.exits
    sl = _stop(ev, exits.stop_loss)
    for name, value in (("stop_loss", sl), ("take_profit", _stop(ev, exits.take_profit, sl)),
                        ("trailing_stop", _stop(ev, exits.trailing_stop))):
        if value is not None:
            kind, amount = value
            key = name if kind == "fraction" else f"{name}_distance"
            kwargs[key] = amount
    if exits.break_even is not None:
        _, kwargs["break_even"] = _stop(ev, exits.break_even, sl) or ("", 0.0)
    if exits.max_bars is not None:
        kwargs["max_bars"] = int(ev.resolve(exits.max_bars))
    if flat_at is not None:
        kwargs["flat_at"] = flat_at
    _sizing(strategy, ev, bars, kwargs)
    return kwargs


def _signals(strategy: Strategy, evaluators: list[Evaluator], entry_mask: tuple[np.ndarray | None, int],
             ) -> tuple[dict[str, np.ndarray], int]:
    """Each top-level rule of every set as an (n, m) column-major matrix (see :mod:`.sweep`), entries
    filtered by the session and the regime (``entry_mask``: where entries may stand and the regime's warm-up,
    from :func:`_entry_mask`, worked out once per symbol); and the largest warm-up."""
    signals = {}
    allowed, warmup = entry_mask
    named = list(rules_of(strategy))
    for (path, _), (held, warm) in zip(named, rule_columns(evaluators, [rule for _, rule in named]), strict=True):
        if allowed is not None and path.startswith("entries"):
            np.logical_and(held, allowed[:, None], out=held)
        signals[_SIGNAL_OF[path]] = held
        warmup = max(warmup, int(warm.max()))
    return signals, warmup


def _sizing(strategy: Strategy, ev: Evaluator, bars: Bars, kwargs: dict[str, Any]) -> None:
    sizing = strategy.sizing
    amount = float(ev.resolve(sizing.amount))
    kind = sizing.kind
    kwargs["size_type"] = SIZE_TYPES[kind]
    kwargs["size"] = amount / 100 if kind.endswith("percent") else amount
    if kind == "volatility_percent":
        ppy = periods_per_year(bars.timeframe.nanos, bars.calendar)
        outputs, _ = ev.module("hist_vol", {"period": sizing.volatility_period, "periods_per_year": ppy})
        kwargs["volatility"] = outputs["hist_vol"] / 100


def _account(strategy: Strategy) -> dict[str, Any]:
    """Settings of the whole account (costs, sizing, guards, execution), read where the option table places
    them in the document."""
    kwargs: dict[str, Any] = {}
    for name, option in OPTIONS.items():
        if not option.document or option.document.startswith("exits."):  # exits: per parameter set
            continue
        value: Any = strategy
        for part in option.document.split("."):
            value = getattr(value, part)
        if value is not None:
            kwargs[name] = value / option.document_scale if option.document_scale != 1 else value
    return kwargs


def compile_strategy(strategy: Strategy, data: Bars | MultiBars | Mapping[str, Bars],
                     sweep: Mapping[str, Sequence[Any]] | None = None, *,
                     sets: Sequence[Mapping[str, Any]] | None = None) -> Compiled:
    """Compile ``strategy`` on ``data`` (its symbols' bars at its timeframe) into engine input.

    ``sweep`` maps declared parameters to the values to try; every combination
    becomes one column of the engine call (single-symbol strategies). ``sets`` gives
    the parameter sets one by one instead (an optimiser's trials): each names some
    declared parameters, the others keep their defaults; the columns are numbered.
    """
    frames = _frames(strategy, data)
    if sets is not None and sweep is not None:
        msg = "give a sweep or parameter sets, not both"
        raise SpecError([("sweep", msg)])
    chosen = parameter_sets(strategy, sweep) if sets is None else given_sets(strategy.parameters, sets)
    if len(frames) > 1 and len(chosen) > 1:
        msg = ("a sweep of a multi-symbol strategy needs one portfolio per parameter set; run the symbols one at "
               "a time, or each parameter set on its own")
        raise SpecError([("sweep", msg)])
    account = _account(strategy)
    warmup = 0
    computed = 0
    if len(frames) == 1:
        bars = next(iter(frames.values()))
        cache = IndicatorCache(bars)
        allowed, flat_at = _entry_mask(strategy, bars), _session_ends(strategy, bars)
        swept = list((sweep or {}).keys())
        labels = (pd.MultiIndex.from_tuples([tuple(s[k] for k in swept) for s in chosen], names=swept)
                  if swept else None)
        evaluators = [Evaluator(strategy, cache, values) for values in chosen]
        batch = len(chosen) > 1 or labels is not None  # several columns: each signal a matrix
        signals, warmup = _signals(strategy, evaluators, allowed)
        per_set = [_engine_kwargs(strategy, ev, bars, flat_at) | account for ev in evaluators]
        if not batch:
            per_set[0] |= {name: held[:, 0] for name, held in signals.items()}
        stacked = stack(per_set, bars.index, labels)
        if batch:
            stacked |= {name: pd.DataFrame(held, index=bars.index, columns=labels, copy=False)
                        for name, held in signals.items()}
        asked, computed = len(chosen) * max(len(strategy.indicators), 1), cache.computed
        return Compiled(strategy, bars, stacked, chosen, warmup, (computed, asked))
    per_symbol = {}
    for symbol, bars in frames.items():
        cache = IndicatorCache(bars)
        ev = Evaluator(strategy, cache, chosen[0])
        signals, warm = _signals(strategy, [ev], _entry_mask(strategy, bars))
        per_symbol[symbol] = _engine_kwargs(strategy, ev, bars, _session_ends(strategy, bars)) | {
            name: held[:, 0] for name, held in signals.items()}
        warmup = max(warmup, warm)
        computed += cache.computed
    return Compiled(strategy, MultiBars(frames), _portfolio(per_symbol, frames) | account, chosen, warmup,
                    (computed, computed))


def _portfolio(per_symbol: dict[str, dict[str, Any]], frames: dict[str, Bars]) -> dict[str, Any]:
    """One portfolio's arguments: each per-bar array a DataFrame by symbol (the engine aligns the dates)."""
    out: dict[str, Any] = {}
    keys = list(dict.fromkeys(k for kwargs in per_symbol.values() for k in kwargs))
    for key in keys:
        values = {s: kw.get(key) for s, kw in per_symbol.items()}
        if all(isinstance(v, np.ndarray) for v in values.values()):
            out[key] = pd.concat({s: pd.Series(v, index=frames[s].index) for s, v in values.items()}, axis=1,
                                 sort=True)
            first = next(iter(values.values()))
            if isinstance(first, np.ndarray) and first.dtype == np.bool_:  # a symbol without a bar at a time: no signal
                out[key] = out[key].fillna(value=False).astype(bool)
        else:
            first = next(iter(values.values()))
            if any(isinstance(v, np.ndarray) for v in values.values()) or not all(v == first for v in values.values()):
                msg = f"{key} differs between symbols in a way a portfolio cannot take"
                raise SpecError([("market.symbols", msg)])
            out[key] = first
    return out


def _frames(strategy: Strategy, data: Bars | MultiBars | Mapping[str, Bars]) -> dict[str, Bars]:
    given = {data.symbol: data} if isinstance(data, Bars) else dict(data.items())
    tf = Timeframe.parse(strategy.market.timeframe)
    frames = {}
    for symbol in strategy.market.symbols:
        if symbol not in given:
            msg = f"no data given for {symbol!r}; got {', '.join(given) or 'none'}"
            raise SpecError([("market.symbols", msg)])
        bars = given[symbol]
        if bars.timeframe != tf:
            msg = f"{symbol} data is {bars.timeframe}, the strategy trades {tf}"
            raise SpecError([("market.timeframe", msg)])
        frames[symbol] = _window(strategy, bars)
    return frames


def run(strategy: Strategy, data: Bars | MultiBars | Mapping[str, Bars],
        sweep: Mapping[str, Sequence[Any]] | None = None) -> Result:
    """Compile ``strategy`` on ``data`` and run the engine (see :func:`compile_strategy`)."""
    return compile_strategy(strategy, data, sweep).run()


def without_window(strategy: Strategy, bars: Bars) -> tuple[Strategy, Bars]:
    """The bars in the strategy's window (``market.start``/``end``/``period``) and the strategy without it.

    A walk-forward cuts that window into folds, so a fold's run must not cut it again.
    """
    from backgrid.strategy.document import parse  # noqa: PLC0415  # document imports this module

    document = strategy.to_dict()
    window = {key: document["market"].pop(key) for key in ("start", "end", "period") if key in document["market"]}
    if not window:
        return strategy, bars
    return parse(document, source=f"{strategy.name} (its window cut into folds)"), _window(strategy, bars)
