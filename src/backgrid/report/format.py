"""Numbers as the tear sheet writes them, by the unit of their metric (see :data:`backgrid.metrics.UNITS`).

``fraction``: a percentage with two decimals (0.1234 -> ``12.34%``); ``cash``: two decimals with thousands
separators (``15,265.75``); ``ratio`` and ``probability``: two and three decimals; ``count``: a whole number
with separators; ``bars``: a whole number when the value is one, else one decimal. NaN and infinities are
written ``n/a``, ``inf`` and ``-inf``; a value that rounds to zero has no minus sign.
"""

from __future__ import annotations

import math
from html import escape

from backgrid.metrics.registry import METRICS

__all__ = ["cell", "format_metric", "format_value"]


_BY_UNIT = {
    "fraction": lambda x: f"{x * 100:.2f}%",
    "cash": lambda x: f"{x:,.2f}",
    "probability": lambda x: f"{x:.3f}",
    "count": lambda x: f"{round(x):,d}",
    "bars": lambda x: f"{round(x):,d}" if x.is_integer() else f"{x:,.1f}",
}


def format_value(value: object, unit: str) -> str:
    """``value`` written for its ``unit`` ("fraction", "cash", "ratio", "probability", "count", "bars").

    >>> format_value(0.1234, "fraction"), format_value(15265.748, "cash"), format_value(3178, "count")
    ('12.34%', '15,265.75', '3,178')
    >>> format_value(-0.000001, "fraction"), format_value(float("nan"), "ratio")
    ('0.00%', 'n/a')
    """
    number = math.nan if value is None else float(value)  # type: ignore[arg-type]  # ints, floats, numpy scalars
    if not math.isfinite(number):
        return "n/a" if math.isnan(number) else ("inf" if number > 0 else "-inf")
    text = _BY_UNIT.get(unit, lambda x: f"{x:.2f}")(number)
    # a value that rounds to zero is written without a sign (an MAE of -0.0001%: "0.00%", not "-0.00%")
    return text[1:] if text.startswith("-") and not any(c in text for c in "123456789") else text


def format_metric(name: str, value: object) -> str:
    """``value`` of the registered metric ``name`` written for its unit (a ratio when it is not registered)."""
    metric = METRICS.get(name)
    return format_value(value, metric.unit if metric is not None else "ratio")


def _number(value: float) -> str:
    if not math.isfinite(value):
        return format_value(value, "ratio")
    return f"{value:,.2f}" if abs(value) >= 100 else f"{value:.4g}"


def cell(value: object) -> str:
    """An HTML table cell's text for any value: numbers with up to four significant digits, times to the minute."""
    if hasattr(value, "item") and not hasattr(value, "strftime"):  # a numpy scalar
        value = value.item()
    if isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, int):
        text = f"{value:,d}"
    elif isinstance(value, float):
        text = _number(value)
    elif hasattr(value, "strftime"):
        text = value.strftime("%Y-%m-%d %H:%M")
    else:
        text = str(value)
    return escape(text)
