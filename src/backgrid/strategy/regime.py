"""A strategy's regime filter: the regime of each bar, and the bars where entries may stand.

``entries.regime`` names a method of :mod:`backgrid.analysis` (``trend``, ``volatility``, ``hmm``, ``events``),
its options and the ``allowed`` labels. An entry signal at bar ``t`` stands when, at ``t``::

    code_t in allowed  and  confidence_t >= min_confidence

The regime of bar ``t`` uses bars ``0..t`` only (every method is causal), so the filter reads nothing the
deciding bar's close did not show; the order still fills at ``t + 1``'s open like every other. While the label
is unknown (``code = -1``, the method's warm-up: its indicators', or the HMM's ``train`` bars) no entry stands,
so those bars count in the strategy's warm-up.
"""

from __future__ import annotations

import numpy as np

from backgrid.analysis.regimes import Regimes, event_regime, trend_regime, volatility_regime
from backgrid.analysis.regimes_hmm import hmm_regime
from backgrid.data.bars import Bars
from backgrid.errors import AnalysisError, SpecError
from backgrid.strategy.spec import EventsFilter, HmmFilter, TrendFilter, VolatilityFilter

__all__ = ["PATH", "regime_mask", "regime_of"]

#: where a document holds its regime filter
PATH = "entries.regime"

Filter = TrendFilter | VolatilityFilter | HmmFilter | EventsFilter


def regime_of(spec: Filter, bars: Bars) -> Regimes:
    """The regimes ``spec``'s method gives on ``bars``; an option the method refuses is a :class:`SpecError` at
    the document's path."""
    options = spec.params.model_dump()
    try:
        if isinstance(spec, EventsFilter):
            return event_regime(bars, spec.windows, **options)
        if isinstance(spec, HmmFilter):
            return hmm_regime(bars, **options)
        method = trend_regime if isinstance(spec, TrendFilter) else volatility_regime
        return method(bars, **options)
    except AnalysisError as exc:
        where = f"{PATH}.windows" if isinstance(spec, EventsFilter) and "window" in str(exc) else f"{PATH}.params"
        raise SpecError([(where, str(exc))]) from exc
    except ImportError as exc:  # the HMM's extra
        raise SpecError([(f"{PATH}.method", str(exc))]) from exc


def regime_mask(spec: Filter, bars: Bars) -> tuple[np.ndarray, int]:
    """Where entries may stand (one bool per bar, see the module docstring), and the regime's warm-up: the bars
    before its first known label (all of them when none is known)."""
    regimes = regime_of(spec, bars)
    codes = regimes.codes
    allowed = [regimes.names.index(name) for name in spec.allowed]
    with np.errstate(invalid="ignore"):  # NaN confidence while unknown: never allowed
        keep = np.isin(codes, allowed) & (regimes.confidence >= spec.min_confidence)
    known = codes >= 0
    warmup = int(np.argmax(known)) if known.any() else codes.size
    return keep, warmup
