"""Bar timeframes: parsing, ordering and arithmetic in nanoseconds."""

from __future__ import annotations

from dataclasses import dataclass
from functools import total_ordering
from typing import ClassVar

from backgrid.errors import TimeframeError

__all__ = ["TIMEFRAMES", "Timeframe"]

_MINUTE_NS = 60 * 1_000_000_000
_UNIT_NS = {"m": _MINUTE_NS, "h": 60 * _MINUTE_NS, "d": 1440 * _MINUTE_NS, "w": 7 * 1440 * _MINUTE_NS}
_UNIT_PANDAS = {"m": "min", "h": "h", "d": "D", "w": "W-MON"}

#: Every timeframe backgrid accepts, shortest first.
TIMEFRAMES: tuple[str, ...] = ("1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w")

_ALIASES = {
    "1min": "1m", "5min": "5m", "15min": "15m", "30min": "30m", "60m": "1h", "60min": "1h",
    "240m": "4h", "1day": "1d", "d": "1d", "24h": "1d", "7d": "1w", "1week": "1w", "w": "1w",
}


@total_ordering
@dataclass(frozen=True, slots=True)
class Timeframe:
    """A bar length such as ``1m`` or ``1d``; compare, hash and use as a key.

    >>> Timeframe.parse("15m").nanos == 15 * 60 * 10**9
    True
    >>> Timeframe.parse("1h") < Timeframe.parse("1d")
    True
    """

    code: str

    SUPPORTED: ClassVar[tuple[str, ...]] = TIMEFRAMES

    def __post_init__(self) -> None:
        if self.code not in TIMEFRAMES:
            msg = f"timeframe {self.code!r} is not supported; expected one of {', '.join(TIMEFRAMES)}"
            raise TimeframeError(msg)

    @classmethod
    def parse(cls, value: str | Timeframe) -> Timeframe:
        """Return the timeframe named by ``value`` (``"1h"``, ``"60min"``, ``"1D"`` ...)."""
        if isinstance(value, Timeframe):
            return value
        if not isinstance(value, str):
            msg = f"timeframe must be a string such as '1h', got {type(value).__name__} {value!r}"
            raise TimeframeError(msg)
        text = value.strip()
        lowered = text.lower()
        code = _ALIASES.get(lowered, lowered)
        if code not in TIMEFRAMES:
            msg = f"timeframe {value!r} is not supported; expected one of {', '.join(TIMEFRAMES)}"
            raise TimeframeError(msg)
        return cls(code)

    @property
    def nanos(self) -> int:
        """Length of one bar in nanoseconds."""
        return int(self.code[:-1]) * _UNIT_NS[self.code[-1]]

    @property
    def seconds(self) -> int:
        """Length of one bar in seconds."""
        return self.nanos // 1_000_000_000

    @property
    def is_intraday(self) -> bool:
        """True for timeframes shorter than one day."""
        return self.nanos < _UNIT_NS["d"]

    @property
    def pandas_freq(self) -> str:
        """The equivalent pandas offset alias (weeks start on Monday)."""
        return f"{self.code[:-1]}{_UNIT_PANDAS[self.code[-1]]}"

    def divides(self, other: Timeframe) -> bool:
        """True when ``other`` is a whole multiple of this timeframe (so it can be resampled to)."""
        return other.nanos % self.nanos == 0

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Timeframe):
            return NotImplemented
        return self.nanos < other.nanos

    def __str__(self) -> str:
        return self.code
