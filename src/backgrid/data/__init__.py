"""Market data: the Bars model, loading and validation, resampling, the local store, sources.

``adjust`` (raw and adjusted views, see :mod:`backgrid.data.adjustments`) is imported on first use,
so that importing a submodule stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from backgrid.data.adjustments import adjust

__all__ = ["adjust"]


def __getattr__(name: str) -> Any:
    if name == "adjust":
        value = import_module("backgrid.data.adjustments").adjust
        globals()[name] = value
        return value
    msg = f"module 'backgrid.data' has no attribute {name!r}"
    raise AttributeError(msg)
