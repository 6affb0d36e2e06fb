"""Frozen settings of a backtest: costs and sizing (validated when the run starts)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from backgrid._fields import from_dict
from backgrid.errors import EngineError

__all__ = ["Costs", "EngineError"]

SizeType = Literal["percent", "units", "cash", "risk", "volatility"]
SIZE_TYPES: tuple[str, ...] = ("percent", "units", "cash", "risk", "volatility")
EntryType = Literal["market", "limit", "stop"]
ENTRY_TYPES: tuple[str, ...] = ("market", "limit", "stop")


@dataclass(frozen=True, slots=True)
class Costs:
    """Trading costs, all adverse, all written on each trade.

    ``commission`` is a fraction of traded value (0.001 = 0.1 %), ``commission_fixed``
    a cash amount per fill, ``commission_min`` the smallest commission per fill;
    ``slippage`` moves each fill's price against the trader by that fraction, and
    ``slippage_ticks`` by that many ticks of ``tick_size`` (both may apply);
    ``spread`` is the full bid-ask spread as a fraction (half is paid per fill);
    ``borrow_rate`` is the annual rate charged on the value of short positions,
    accrued by elapsed calendar time.
    """

    commission: float = 0.0
    commission_fixed: float = 0.0
    commission_min: float = 0.0
    slippage: float = 0.0
    slippage_ticks: float = 0.0
    tick_size: float = 0.0
    spread: float = 0.0
    borrow_rate: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                msg = f"costs.{f.name} must be a number >= 0, got {value!r}"
                raise EngineError(msg)
        if self.slippage_ticks > 0 and not self.tick_size > 0:
            msg = f"costs.slippage_ticks ({self.slippage_ticks:g}) needs costs.tick_size > 0, the price of one tick"
            raise EngineError(msg)
        if self.commission >= 1 or self.slippage >= 1 or self.spread >= 1:
            msg = "costs.commission, slippage and spread are fractions below 1 (0.001 means 0.1 %)"
            raise EngineError(msg)

    @classmethod
    def coerce(cls, value: Costs | dict[str, Any] | None) -> Costs:
        """Accept a :class:`Costs`, a dict of its fields, or ``None`` (no costs)."""
        if value is None:
            return cls()
        if isinstance(value, Costs):
            return value
        if isinstance(value, dict):
            return from_dict(cls, value, what="cost field", error=EngineError)
        msg = f"costs must be a Costs, a dict or None, got {type(value).__name__}"
        raise EngineError(msg)

    def to_dict(self) -> dict[str, float]:
        """The fields as a plain dict."""
        return asdict(self)
