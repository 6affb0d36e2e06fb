"""The indicator registry: built from the family modules listed below and from plugins.

Nothing registers itself on import: the registry imports each family module named
in :data:`FAMILIES`, collects the functions that carry an
:class:`~backgrid.indicators.spec.IndicatorSpec`, then loads the entry points of
the ``backgrid.indicators`` group (third-party modules, each a decorated function).
"""

from __future__ import annotations

import builtins
import difflib
import json
from importlib import import_module
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from backgrid.errors import IndicatorError
from backgrid.indicators.spec import CATEGORIES, IndicatorSpec

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["ENTRY_POINT_GROUP", "FAMILIES", "REGISTRY", "Registry"]

#: The modules that hold backgrid's own indicators, one per family.
FAMILIES: tuple[str, ...] = (
    "backgrid.indicators.moving_averages",
    "backgrid.indicators.momentum",
    "backgrid.indicators.trend",
    "backgrid.indicators.volatility",
    "backgrid.indicators.volume",
    "backgrid.indicators.levels",
    "backgrid.indicators.price_action",
    "backgrid.indicators.statistics",
)
#: Entry-point group third-party packages use to add modules.
ENTRY_POINT_GROUP = "backgrid.indicators"


def specs_in(module_name: str) -> builtins.list[IndicatorSpec]:
    """The indicator specs defined in one module, in source order."""
    module = import_module(module_name)
    found = []
    for obj in vars(module).values():
        spec = getattr(obj, "spec", None)
        if isinstance(spec, IndicatorSpec) and spec.fn is obj:
            found.append(spec)
    return found


class Registry:
    """Indicator specs by id; loads lazily on first use."""

    def __init__(self, families: Iterable[str] = FAMILIES, *, plugins: bool = True) -> None:
        self._families = tuple(families)
        self._plugins = plugins
        self._specs: dict[str, IndicatorSpec] | None = None

    def _load(self) -> dict[str, IndicatorSpec]:
        if self._specs is None:
            specs: dict[str, IndicatorSpec] = {}
            for family in self._families:
                for spec in specs_in(family):
                    self._put(specs, spec, family)
            if self._plugins:
                for ep in entry_points(group=ENTRY_POINT_GROUP):
                    try:
                        obj = ep.load()
                    except Exception as exc:  # a broken plugin must say which one it is
                        msg = f"indicator plugin {ep.name!r} ({ep.value}) failed to load: {exc}"
                        raise IndicatorError(msg) from exc
                    found = getattr(obj, "spec", None)
                    if not isinstance(found, IndicatorSpec):
                        msg = f"indicator plugin {ep.name!r} ({ep.value}) is not decorated with @indicator"
                        raise IndicatorError(msg)
                    self._put(specs, found, f"plugin {ep.value}")
            self._specs = specs
        return self._specs

    @staticmethod
    def _put(specs: dict[str, IndicatorSpec], spec: IndicatorSpec, where: str) -> None:
        if spec.id in specs:
            msg = f"indicator id {spec.id!r} from {where} is already taken by {specs[spec.id].fn.__module__}"
            raise IndicatorError(msg)
        specs[spec.id] = spec

    def add(self, spec: IndicatorSpec) -> None:
        """Add a module at run time (tests, notebooks); its id must be new."""
        self._put(self._load(), spec, "add()")

    def get(self, id: str) -> IndicatorSpec:  # noqa: A002
        """The spec of indicator ``id``; an unknown id names the closest ones."""
        specs = self._load()
        try:
            return specs[id]
        except KeyError:
            close = difflib.get_close_matches(str(id), specs, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            msg = f"unknown indicator {id!r}{hint} ({len(specs)} available: backgrid indicators list)"
            raise IndicatorError(msg) from None

    def list(self, category: str | None = None) -> builtins.list[IndicatorSpec]:
        """All specs (or one category's), ordered by category then id."""
        if category is not None and category not in CATEGORIES:
            msg = f"unknown category {category!r}; expected one of {', '.join(CATEGORIES)}"
            raise IndicatorError(msg)
        specs = [s for s in self._load().values() if category in (None, s.category)]
        return sorted(specs, key=lambda s: (CATEGORIES.index(s.category), s.id))

    def __contains__(self, spec_id: object) -> bool:
        return spec_id in self._load()

    def __len__(self) -> int:
        return len(self._load())

    def to_json(self, *, indent: int | None = None) -> str:
        """The whole registry as JSON: ``{"categories": [...], "indicators": [schema, ...]}``."""
        return json.dumps({"categories": list(CATEGORIES), "indicators": [s.schema() for s in self.list()]},
                          indent=indent)


#: The registry of backgrid's own modules plus installed plugins.
REGISTRY = Registry()
