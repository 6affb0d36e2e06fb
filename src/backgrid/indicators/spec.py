"""How an indicator module declares itself: parameters, outputs, warm-up and its TA-Lib twin.

A module is a plain function decorated with :func:`indicator`; the decorator only
attaches an :class:`IndicatorSpec` to the function (``fn.spec``) and registers
nothing. The registry collects specs from the family modules it lists by name and
from the ``backgrid.indicators`` entry-point group.

The function takes the input arrays it names (``close``, ``high``, ``low``,
``open``, ``volume`` as float64, ``ts`` as int64 UTC nanoseconds, ``calendar`` as a
:class:`~backgrid.data.calendar.Calendar`) and the parameters as keywords, and
returns a dict of float64 arrays, one per declared output, all as long as the input.
"""

from __future__ import annotations

import builtins
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from backgrid.errors import IndicatorError

__all__ = ["CATEGORIES", "INPUTS", "IndicatorSpec", "Output", "Param", "TalibRef", "indicator"]

Tier = Literal["beginner", "intermediate", "advanced"]
OutputKind = Literal["price", "oscillator", "line", "signal", "zone", "volume"]

#: Categories, in the order the UI lists them.
CATEGORIES: tuple[str, ...] = ("moving_average", "momentum", "trend", "volatility", "volume",
                               "support_resistance", "price_action", "statistics")
#: Inputs a module may ask for.
INPUTS: tuple[str, ...] = ("open", "high", "low", "close", "volume", "ts", "calendar")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter: its type, default and allowed values, with the words a form shows."""

    name: str
    type: Literal["int", "float", "bool", "choice"]
    default: Any
    min: float | None = None
    max: float | None = None
    step: float | None = None
    options: tuple[str, ...] = ()
    title: str = ""
    help: str = ""

    @classmethod
    def int(cls, name: str, default: int, *, min: int = 1, max: int = 10_000, step: int = 1,  # noqa: A002
            title: str = "", help: str = "") -> Param:  # noqa: A002
        """An integer parameter in ``[min, max]``."""
        return cls(name, "int", default, min, max, step, (), title or name.replace("_", " ").capitalize(), help)

    @classmethod
    def float(cls, name: str, default: float, *, min: float, max: float, step: float = 0.1,  # noqa: A002
              title: str = "", help: str = "") -> Param:  # noqa: A002
        """A real parameter in ``[min, max]``."""
        return cls(name, "float", default, min, max, step, (), title or name.replace("_", " ").capitalize(), help)

    @classmethod
    def choice(cls, name: str, default: str, options: tuple[str, ...], *, title: str = "",
               help: str = "") -> Param:  # noqa: A002
        """One of ``options``."""
        return cls(name, "choice", default, None, None, None, options,
                   title or name.replace("_", " ").capitalize(), help)

    @classmethod
    def flag(cls, name: str, default: bool, *, title: str = "", help: str = "") -> Param:  # noqa: A002, FBT001
        """A yes/no parameter."""
        return cls(name, "bool", default, None, None, None, (), title or name.replace("_", " ").capitalize(), help)

    def allowed(self) -> str:
        """The allowed values in words, for error messages."""
        if self.type == "int":
            return f"an integer in [{self.min:g}, {self.max:g}]"
        if self.type == "float":
            return f"a number in [{self.min:g}, {self.max:g}]"
        if self.type == "bool":
            return "true or false"
        return f"one of {', '.join(self.options)}"

    def check(self, value: Any, owner: str) -> Any:
        """Return ``value`` if it is allowed, else raise :class:`IndicatorError` naming the parameter."""
        ok = False
        if self.type == "int":
            ok = isinstance(value, int) and not isinstance(value, bool) and self._in_range(value)
        elif self.type == "float":
            ok = (isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
                  and self._in_range(value))
            value = float(value) if ok else value
        elif self.type == "bool":
            ok = isinstance(value, bool)
        else:
            ok = value in self.options
        if not ok:
            msg = f"{owner}: parameter {self.name!r} must be {self.allowed()}, got {value!r}"
            raise IndicatorError(msg)
        return value

    def _in_range(self, value: builtins.float) -> bool:
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    def schema(self) -> dict[str, Any]:
        """This parameter as a JSON-ready dict (what the web UI renders a field from)."""
        out: dict[str, Any] = {"name": self.name, "type": self.type, "default": self.default,
                               "title": self.title, "help": self.help}
        if self.type in ("int", "float"):
            out.update(min=self.min, max=self.max, step=self.step)
        if self.type == "choice":
            out["options"] = list(self.options)
        return out


@dataclass(frozen=True, slots=True)
class Output:
    """One named output and what it is.

    ``kind``: ``price`` (a line on the price scale), ``oscillator`` (bounded, see
    ``range``), ``line`` (unbounded, own pane), ``signal`` (-1, 0 or +1), ``zone``
    (a price level or bound that exists only at times: NaN when absent), ``volume``.
    ``sparse`` outputs may be NaN after the warm-up.
    """

    name: str
    kind: OutputKind
    description: str = ""
    range: tuple[float, float] | None = None
    sparse: bool = False

    def schema(self) -> dict[str, Any]:
        """This output as a JSON-ready dict."""
        return {"name": self.name, "kind": self.kind, "description": self.description,
                "range": list(self.range) if self.range else None, "sparse": self.sparse}


@dataclass(frozen=True, slots=True)
class TalibRef:
    """The TA-Lib function a module matches, and how names map onto it.

    ``params`` maps our parameter names to TA-Lib's; ``outputs`` maps our output
    names to TA-Lib's; ``fixed`` gives TA-Lib parameters we always pass (``matype=0``).
    """

    function: str
    params: Mapping[str, str] = field(default_factory=dict)
    outputs: Mapping[str, str] = field(default_factory=dict)
    fixed: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    """Everything the registry, the UI and the conformance check know about one module."""

    id: str
    name: str
    category: str
    description: str
    tier: Tier
    inputs: tuple[str, ...]
    params: tuple[Param, ...]
    outputs: tuple[Output, ...]
    warmup: Callable[..., int]
    fn: Callable[..., dict[str, Any]]
    talib: TalibRef | None = None
    confirmation: str = "none: each value uses bars up to and including its own"

    def __post_init__(self) -> None:
        problems = []
        if not _ID.match(self.id):
            problems.append(f"id {self.id!r} must be snake_case")
        if self.category not in CATEGORIES:
            problems.append(f"category {self.category!r} must be one of {', '.join(CATEGORIES)}")
        if self.tier not in ("beginner", "intermediate", "advanced"):
            problems.append(f"tier {self.tier!r} must be beginner, intermediate or advanced")
        unknown = [i for i in self.inputs if i not in INPUTS]
        if unknown or not self.inputs:
            problems.append(f"inputs {self.inputs} must be some of {', '.join(INPUTS)}")
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            problems.append("parameter names repeat")
        outs = [o.name for o in self.outputs]
        if not outs or len(set(outs)) != len(outs):
            problems.append("outputs must be named, without repeats")
        problems.extend(f"oscillator output {o.name!r} needs its range"
                        for o in self.outputs if o.kind == "oscillator" and o.range is None)
        if not self.description or len(self.description) > 160:
            problems.append("description must be one line of at most 160 characters")
        for p in self.params:
            try:
                p.check(p.default, self.id)
            except IndicatorError as exc:
                problems.append(f"default of {p.name!r} is not allowed ({exc})")
        if problems:
            msg = f"indicator {self.id!r} is badly declared: " + "; ".join(problems)
            raise IndicatorError(msg)

    def resolve(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults overlaid with ``given``, each value checked; unknown names are refused."""
        known = {p.name: p for p in self.params}
        unknown = sorted(set(given) - set(known))
        if unknown:
            have = ", ".join(known) or "none"
            msg = f"{self.id}: unknown parameter(s) {', '.join(unknown)}; it takes {have}"
            raise IndicatorError(msg)
        return {name: p.check(given.get(name, p.default), self.id) for name, p in known.items()}

    def warmup_bars(self, params: Mapping[str, Any] | None = None) -> int:
        """Leading bars without a value for ``params`` (defaults when omitted)."""
        return int(self.warmup(**self.resolve(params or {})))

    def schema(self) -> dict[str, Any]:
        """The whole declaration as a JSON-ready dict (served to the web UI)."""
        return {
            "id": self.id, "name": self.name, "category": self.category, "description": self.description,
            "tier": self.tier, "inputs": list(self.inputs), "params": [p.schema() for p in self.params],
            "outputs": [o.schema() for o in self.outputs], "warmup_default": self.warmup_bars(),
            "talib": self.talib.function if self.talib else None, "confirmation": self.confirmation,
        }


def indicator(
    id: str,  # noqa: A002  # the registry's word for it
    *,
    name: str,
    category: str,
    description: str,
    tier: Tier,
    inputs: tuple[str, ...],
    params: tuple[Param, ...] = (),
    outputs: tuple[Output, ...],
    warmup: Callable[..., int],
    talib: TalibRef | None = None,
    confirmation: str = "none: each value uses bars up to and including its own",
) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    """Declare a function as an indicator module (attaches ``fn.spec``; registers nothing).

    >>> @indicator("double", name="Double", category="statistics", description="Twice the close.",
    ...            tier="beginner", inputs=("close",), outputs=(Output("double", "price"),),
    ...            warmup=lambda: 0)
    ... def double(close):
    ...     return {"double": close * 2}
    >>> double.spec.id
    'double'
    """

    def wrap(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        fn.spec = IndicatorSpec(id, name, category, description, tier, inputs, params, outputs,  # type: ignore[attr-defined]
                                warmup, fn, talib, confirmation)
        return fn

    return wrap
