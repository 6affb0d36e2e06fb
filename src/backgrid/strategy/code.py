"""Strategies written in Python, for what blocks cannot express; they run on the same engine, swept the same way.

Subclass :class:`CodeStrategy`, declare the parameters, and turn bars into
``backtest`` arguments in :meth:`~CodeStrategy.signals`. As in scikit-learn, the
constructor only stores parameters; they are checked when a run starts, so an
optimiser can clone and vary them::

    class ZScoreReversion(CodeStrategy):
        parameters = (Parameter(param="period", default=20, min=5, max=200),
                      Parameter(param="entry", default=2.0, min=0.5, max=4.0))

        def signals(self, bars):
            close = bars.to_pandas().close
            z = (close - close.rolling(self.period).mean()) / close.rolling(self.period).std()
            return {"entries": z < -self.entry, "exits": z > 0}

    ZScoreReversion(period=30).run(bars)
    ZScoreReversion().run(bars, sweep={"period": [10, 20, 40], "entry": [1.5, 2.0]})  # 6 columns, one engine call
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from backgrid.data.bars import Bars
from backgrid.engine.options import INPUTS
from backgrid.engine.result import Result
from backgrid.engine.run import backtest
from backgrid.errors import SpecError
from backgrid.strategy.columns import stack
from backgrid.strategy.compiler import combinations, given_sets
from backgrid.strategy.spec import Parameter, did_you_mean

__all__ = ["CodeStrategy", "Parameter"]

#: What ``signals`` may return: the per-column and per-bar arguments of ``backtest``.
#: what ``signals`` may return: the engine options that are signals, per-bar or per-column values
RETURNABLE = INPUTS


class CodeStrategy:
    """Base class of code strategies (see the module docstring)."""

    parameters: ClassVar[tuple[Parameter, ...]] = ()

    def __init__(self, **params: Any) -> None:
        self._params = {p.param: p.default for p in self.parameters} | params

    def __getattr__(self, name: str) -> Any:
        params = self.__dict__.get("_params", {})
        if name in params:
            return params[name]
        msg = f"{type(self).__name__} has no attribute {name!r}"
        raise AttributeError(msg)

    def __repr__(self) -> str:
        given = ", ".join(f"{k}={v!r}" for k, v in self._params.items())
        return f"{type(self).__name__}({given})"

    def get_params(self) -> dict[str, Any]:
        """The parameter values, declared defaults included."""
        return dict(self._params)

    def set_params(self, **params: Any) -> Self:
        """Change parameters in place; returns ``self``."""
        self._params.update(params)
        return self

    def signals(self, bars: Bars) -> Mapping[str, Any]:
        """Turn bars into ``backtest`` arguments for one parameter set: ``entries``, ``exits``, ``short_entries``,
        ``short_exits``, ``flat_at`` (booleans per bar), per-bar distances (``stop_loss_distance``...) or
        per-column values (``stop_loss``, ``max_bars``, ``size``...)."""
        raise NotImplementedError

    def _check(self) -> None:
        declared = {p.param: p for p in self.parameters}
        problems = []
        for name, value in self._params.items():
            if name not in declared:
                problems.append((name, (f"{type(self).__name__} declares no parameter {name!r}"
                                 f"{did_you_mean(name, declared)}; it has {', '.join(declared) or 'none'}")))
            elif isinstance(value, bool) or not isinstance(value, int | float | np.number):
                problems.append((name, f"expected a number, got {value!r}"))
            elif not declared[name].min <= value <= declared[name].max:
                problems.append((name, (f"{value} is outside the declared range "
                                 f"[{declared[name].min}, {declared[name].max}]")))
        if problems:
            raise SpecError(problems, source=type(self).__name__)

    def run(self, bars: Bars, *, sweep: Mapping[str, Sequence[Any]] | None = None,
            sets: Sequence[Mapping[str, Any]] | None = None, **options: Any) -> Result:
        """Backtest on ``bars``; a ``sweep`` of declared parameters runs as columns of one engine call.

        ``sets`` gives the parameter sets one by one instead (numbered columns; the parameters a set does not
        name keep this strategy's values). ``options`` are account-wide ``backtest`` arguments (``costs``,
        ``cash``, ``fill``...).
        """
        return backtest(bars, **self.inputs(bars, sweep=sweep, sets=sets), **options)

    def inputs(self, bars: Bars, *, sweep: Mapping[str, Sequence[Any]] | None = None,
               sets: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
        """The ``backtest`` arguments :meth:`run` passes (its ``options`` aside): one column per parameter set."""
        self._check()
        base = [p.model_copy(update={"default": self._params[p.param]}) for p in self.parameters]
        if sets is not None and sweep is not None:
            msg = "give a sweep or parameter sets, not both"
            raise SpecError([("sweep", msg)], source=type(self).__name__)
        chosen = combinations(base, sweep) if sets is None else given_sets(base, sets)
        per_set = []
        for values in chosen:
            produced = dict(type(self)(**values).signals(bars))
            unknown = sorted(set(produced) - RETURNABLE)
            if unknown:
                where = f"{type(self).__name__}.signals"
                msg = (f"returned {', '.join(unknown)}; it may return {', '.join(sorted(RETURNABLE))} "
                       f"(account-wide settings go to run(..., costs=...))")
                raise SpecError([(where, msg)])
            per_set.append({k: _array(v, bars) for k, v in produced.items()})
        swept = list((sweep or {}).keys())
        labels = (pd.MultiIndex.from_tuples([tuple(s[k] for k in swept) for s in chosen], names=swept)
                  if swept else None)
        return stack(per_set, bars.index, labels)


def _array(value: Any, bars: Bars) -> Any:
    """A pandas value aligned on the bars as a plain array; numbers and arrays as they are."""
    if isinstance(value, pd.Series):
        return value.reindex(bars.index).to_numpy()
    return value
