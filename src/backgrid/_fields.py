"""Building frozen settings dataclasses from plain dicts, with the unknown keys named."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")


def from_dict(cls: type[T], values: Mapping[str, Any], *, what: str, error: type[Exception]) -> T:
    """``cls(**values)``, refusing keys that are not fields of ``cls`` with a message listing the fields.

    ``what`` names one field in the message (``"cost field"`` -> "unknown cost field(s) ...").
    """
    known = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(set(values) - set(known))
    if unknown:
        msg = f"unknown {what}(s) {', '.join(unknown)}; expected some of {', '.join(known)}"
        raise error(msg)
    return cls(**values)
