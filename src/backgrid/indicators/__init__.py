"""The indicator library: modules with schemas, registered explicitly, TA-Lib-exact where TA-Lib has them.

>>> from backgrid import indicators
>>> indicators.get("rsi").name
'Relative strength index'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from backgrid.indicators.compute import compute, compute_arrays
from backgrid.indicators.registry import REGISTRY
from backgrid.indicators.spec import IndicatorSpec, Output, Param, TalibRef, indicator

if TYPE_CHECKING:
    import builtins

__all__ = ["IndicatorSpec", "Output", "Param", "TalibRef", "compute", "compute_arrays", "get", "indicator",
           "list", "to_json"]


def list(category: str | None = None) -> builtins.list[IndicatorSpec]:  # noqa: A001  # the API the issue names
    """All indicator specs, or one category's, ordered by category then id."""
    return REGISTRY.list(category)


def get(id: str) -> IndicatorSpec:  # noqa: A002
    """The spec of indicator ``id``."""
    return REGISTRY.get(id)


def to_json(**options: Any) -> str:
    """The whole registry as JSON (the service serves this to the web UI)."""
    return REGISTRY.to_json(**options)
