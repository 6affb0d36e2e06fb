"""``EngineConfig``: the frozen, validated settings of a backtest, built from the option table.

>>> config = EngineConfig(commission=0.001, stop_loss=[0.02, 0.05])
>>> config.commission, config.stop_loss, config.columns
(0.001, (0.02, 0.05), 2)
>>> EngineConfig.from_json(config.to_json()) == config
True
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from typing import Any

from backgrid.engine import options as _options
from backgrid.engine.options import OPTIONS
from backgrid.errors import EngineError, OptionError

__all__ = ["EngineConfig", "EngineError", "OptionError"]

#: options given together under one argument of ``backtest`` (``costs={"commission": 0.001}``)
GROUPS = ("costs",)


class EngineConfig(Mapping[str, Any]):
    """The engine's settings: every account and per-column option of :data:`~backgrid.engine.options.OPTIONS`.

    Frozen and validated when built: an unknown name or a value out of its option's range is an
    :class:`OptionError` naming it. A column option takes one value or one value per column (a tuple).
    Round-trips through :meth:`to_dict` / :meth:`to_json` / :meth:`to_yaml`; :attr:`fingerprint` (a sha256 of
    the settings that change results) is the run's identity.
    """

    __slots__ = ("_values",)
    _values: dict[str, Any]

    def __init__(self, **settings: Any) -> None:
        _options.unknown(list(settings), allowed=_options.defaults())
        values = _options.defaults()
        values.update({name: _options.check(name, value) for name, value in settings.items()})
        widths = {name: len(v) for name, v in values.items() if isinstance(v, tuple)}
        if len(set(widths.values())) > 1:
            first = next(iter(widths))
            other = next(n for n in widths if widths[n] != widths[first])
            msg = (f"per-column options disagree on the number of columns: {first} has {widths[first]}, "
                   f"{other} has {widths[other]}")
            raise OptionError(msg, option=other)
        _cross_checks(values)
        object.__setattr__(self, "_values", values)

    # -- a read-only mapping with attribute access -------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # protocol lookups (copy, pickle) expect AttributeError for what is not there
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            _options.unknown([name], allowed=self._values)
            raise  # pragma: no cover  # unknown() raised

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its plain data (the config is rebuilt, and checked, where it is unpickled)."""
        return EngineConfig.from_dict, (self.to_dict(),)

    def __setattr__(self, name: str, value: Any) -> None:
        msg = f"EngineConfig is frozen; use config.replace({name}=...) for a changed copy"
        raise EngineError(msg)

    def __getitem__(self, name: str) -> Any:
        if name not in self._values:
            _options.unknown([name], allowed=self._values)
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EngineConfig) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    def __repr__(self) -> str:
        given = ", ".join(f"{k}={v!r}" for k, v in self.to_dict(defaults=False).items())
        return f"EngineConfig({given})"

    # -- copies and conversions -------------------------------------------------------------------------------
    def replace(self, **changes: Any) -> EngineConfig:
        """A copy with ``changes`` applied (validated like the constructor)."""
        return EngineConfig(**(self.to_dict(defaults=False) | changes))

    @property
    def columns(self) -> int:
        """How many columns the per-column options give (1 when each has one value)."""
        return max((len(v) for v in self._values.values() if isinstance(v, tuple)), default=1)

    def each(self, name: str) -> tuple[Any, ...]:
        """Option ``name``'s values as a tuple: one per column, or its one value."""
        return _each(self[name])

    def to_dict(self, *, defaults: bool = True) -> dict[str, Any]:
        """Plain data (tuples as lists); without ``defaults``, only the settings that differ from their default."""
        out = {k: list(v) if isinstance(v, tuple) else v for k, v in self._values.items()}
        if not defaults:
            out = {k: v for k, v in out.items() if v != OPTIONS[k].default}
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EngineConfig:
        """The config of plain data (as :meth:`to_dict` or a JSON/YAML file gives it)."""
        if not isinstance(data, Mapping):
            msg = f"an engine config is a mapping of option names to values, got {type(data).__name__}"
            raise EngineError(msg)
        return cls(**{str(k): v for k, v in data.items()})

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, no spaces."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> EngineConfig:
        """The config of a JSON object."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            msg = f"an engine config in JSON could not be read: {exc}"
            raise EngineError(msg) from exc
        return cls.from_dict(data)

    def to_yaml(self) -> str:
        """The settings that differ from their defaults, as YAML."""
        from io import StringIO  # noqa: PLC0415

        from ruamel.yaml import YAML  # noqa: PLC0415  # YAML is read and written on demand

        out = StringIO()
        YAML(typ="safe", pure=True).dump(self.to_dict(defaults=False), out)
        return out.getvalue()

    @classmethod
    def from_yaml(cls, text: str) -> EngineConfig:
        """The config of a YAML mapping."""
        from ruamel.yaml import YAML  # noqa: PLC0415
        from ruamel.yaml.error import YAMLError  # noqa: PLC0415

        try:
            data = YAML(typ="safe", pure=True).load(text)
        except YAMLError as exc:
            msg = f"an engine config in YAML could not be read: {exc}"
            raise EngineError(msg) from exc
        return cls.from_dict(data or {})

    @property
    def fingerprint(self) -> str:
        """A sha256 of the settings that change results (all but ``keep_equity``): the run's identity."""
        kept = {k: v for k, v in self.to_dict().items() if OPTIONS[k].identity}
        return hashlib.sha256(json.dumps(kept, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _each(value: Any) -> tuple[Any, ...]:
    """A setting's values: a column option's tuple as it is, any other value as a tuple of one."""
    return value if isinstance(value, tuple) else (value,)


def _cross_checks(v: dict[str, Any]) -> None:
    """Combinations of settings that cannot work, named by the options involved."""
    if v["slippage_ticks"] > 0 and not v["tick_size"] > 0:
        msg = f"slippage_ticks ({v['slippage_ticks']:g}) needs tick_size > 0, the price of one tick"
        raise OptionError(msg, option="tick_size")
    if v["commission_max"] is not None and v["commission_max"] < v["commission_min"]:
        msg = f"commission_max ({v['commission_max']:g}) is below commission_min ({v['commission_min']:g})"
        raise OptionError(msg, option="commission_max")
    if v["entry_type"] == "market" and v["entry_expiry"] != 1:
        msg = "entry_expiry applies to limit and stop entries; set entry_type='limit' or 'stop' (got 'market')"
        raise OptionError(msg, option="entry_expiry")
    if v["entry_type"] != "market" and v["fill"] != "next_open":
        msg = (f"entry_type={v['entry_type']!r} works from the bar after the signal; it needs fill='next_open', "
               f"got {v['fill']!r}")
        raise OptionError(msg, option="fill")
    rates = [r for r in _each(v["maintenance_margin"]) if r is not None]
    if rates and max(rates) >= 1.0 / v["leverage"]:
        msg = (f"maintenance_margin must be below the initial margin 1 / leverage = {1.0 / v['leverage']:g} "
               f"(leverage {v['leverage']:g}), got {max(rates):g}")
        raise OptionError(msg, option="maintenance_margin")
    sizes = _each(v["size"])
    if v["size_type"] == "equity" and max(sizes) > v["leverage"]:
        msg = (f"size as a fraction of equity must be at most the leverage ({v['leverage']:g}), "
               f"got {max(sizes):g}")
        raise OptionError(msg, option="size")
