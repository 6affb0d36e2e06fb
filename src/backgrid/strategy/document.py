"""Read and write strategy documents: YAML or JSON in, a checked :class:`Strategy` out.

Reading goes: parse the text -> convert a QuantMetrics V4 decision-block request ->
migrate an older ``schema_version`` -> validate the models -> check every name the
rules use. Each failure is a :class:`~backgrid.errors.SpecError` listing every
problem with its path in the document's own words.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pydantic
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from backgrid.errors import SpecError
from backgrid.strategy.bounds import check_engine_bounds
from backgrid.strategy.migrate import migrate
from backgrid.strategy.quantmetrics import from_quantmetrics, is_quantmetrics
from backgrid.strategy.references import check_references
from backgrid.strategy.spec import RULE_TAGS, Strategy

__all__ = ["dump", "format_path", "load", "override", "parse", "read_text"]

_MESSAGES = {
    "missing": "required field is missing",
    "too_long": "has too many items",
    "too_short": "has too few items",
}


def read_text(text: str, *, source: str = "") -> Any:
    """Parse YAML or JSON text (JSON is YAML) into plain data; a syntax error names the line."""
    yaml = YAML(typ="safe", pure=True)
    try:
        return yaml.load(io.StringIO(text))
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError([("", f"{where}not valid YAML or JSON ({problem})")], source=source) from None


def load(path: str | Path) -> Strategy:
    """Read a strategy file (``.yaml``, ``.yml`` or ``.json``)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError([("", f"cannot read the strategy file ({exc.strerror or exc})")], source=str(file)) from None
    return parse(read_text(text, source=str(file)), source=str(file))


def parse(data: Any, *, source: str = "") -> Strategy:
    """Turn plain data (a parsed document) into a checked :class:`Strategy`."""
    if not isinstance(data, dict):
        kind = "an empty document" if data is None else f"a {type(data).__name__}"
        raise SpecError([("", f"expected a strategy mapping (schema_version, name, market, entries...), got {kind}")],
                        source=source)
    if is_quantmetrics(data):
        data = from_quantmetrics(data, source=source)
    data = migrate(data, source=source)
    try:
        strategy = Strategy.model_validate(data)
    except pydantic.ValidationError as exc:
        raise SpecError(_problems(exc), source=source) from None
    problems = check_references(strategy) + check_engine_bounds(strategy)
    if problems:
        raise SpecError(problems, source=source)
    return strategy


def override(strategy: Strategy, *, symbols: list[str] | None = None, timeframe: str | None = None,
             start: Any = None, end: Any = None, cash: float | None = None) -> Strategy:
    """A copy of ``strategy`` trading other symbols, bars, dates or cash; checked again as a whole."""
    data = strategy.to_dict()
    market = data["market"]
    if symbols:
        market["symbols"] = list(symbols)
    if timeframe:
        market["timeframe"] = timeframe
    if start is not None or end is not None:
        market.pop("period", None)
    if start is not None:
        market["start"] = str(start)
    if end is not None:
        market["end"] = str(end)
    if cash is not None:
        data["cash"] = cash
    return parse(data, source=f"{strategy.name} (with command-line changes)")


def dump(strategy: Strategy, *, fmt: str = "yaml") -> str:
    """The document as YAML or JSON text, defaults left out."""
    data = strategy.to_dict()
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    if fmt != "yaml":
        msg = f"fmt must be 'yaml' or 'json', got {fmt!r}"
        raise ValueError(msg)
    yaml = YAML(typ="safe", pure=False)  # ruamel.yaml.clib's emitter; the keys stay in the document's order
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    yaml.default_flow_style = None
    yaml.width = 110
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def format_path(loc: tuple[Any, ...]) -> str:
    """A pydantic location as the document's path: ``entries.long.all[2].crosses_above[1]``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part in RULE_TAGS:
            continue
        elif str(part).isidentifier():
            text += f".{part}" if text else str(part)
        else:
            text += f'["{part}"]'
    return text


def _problems(exc: pydantic.ValidationError) -> list[tuple[str, str]]:
    problems = []
    for error in exc.errors(include_url=False):
        message = error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        message = _MESSAGES.get(error["type"], message)
        if error["type"] in ("too_long", "too_short"):
            length = len(error["input"]) if isinstance(error["input"], list | tuple) else "?"
            bound = ("at most", error["ctx"].get("max_length")) if error["type"] == "too_long" else (
                "at least", error["ctx"].get("min_length"))
            message = f"expected {bound[0]} {bound[1]} item{'s' if bound[1] != 1 else ''}, got {length}"
        elif error["type"] == "missing" and error["loc"] and isinstance(error["loc"][-1], int):
            message = "item missing: this rule takes more operands"
        elif error["type"] not in ("value_error", "missing") and "input" in error:
            message = f"{message[:1].lower()}{message[1:]}, got {error['input']!r}"
        problems.append((format_path(tuple(error["loc"])), message))
    return problems
