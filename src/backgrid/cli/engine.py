"""``backgrid engine ...``: the engine's options, as a listing and as a JSON Schema."""

from __future__ import annotations

import sys
import textwrap
from typing import TYPE_CHECKING

import typer

from backgrid.cli.common import App, command, write_json

if TYPE_CHECKING:
    from backgrid.engine.options import Option

app = App(help="The engine's options: what each means, its unit, range and default.", no_args_is_help=True)


@app.command("options")
@command
def options(json_: bool = typer.Option(False, "--json", help="Print the table as JSON (one object per option)."),
            ) -> None:
    """List every engine option by group: its unit, default, accepted range and what it does."""
    from backgrid.engine.options import OPTIONS  # noqa: PLC0415  # keep `backgrid --help` fast

    if json_:
        rows = [{"name": o.name, "group": o.group, "scope": o.scope, "kind": o.kind, "unit": o.unit,
                 "default": o.default, "none": o.none or None, "range": o.bounds_text() if o.kind in ("float", "int")
                 else None, "choices": list(o.choices) or None, "document": o.document or None, "help": o.help}
                for o in OPTIONS.values()]
        write_json(rows)
        return
    groups: dict[str, list[Option]] = {}
    for o in OPTIONS.values():
        groups.setdefault(o.group, []).append(o)
    blocks = []
    for group, members in groups.items():
        lines = [group]
        for o in members:
            lines.append(f"  {o.name}  [{o.unit.replace('_', ' ')}]")
            lines += [textwrap.fill(text, width=78, initial_indent="      ", subsequent_indent="        ")
                      for text in (_accepts(o), o.help)]
        blocks.append("\n".join(lines))
    sys.stdout.write("\n\n".join(blocks) + "\n")


def _accepts(o: Option) -> str:
    """What an option takes, its default, and whether it is per column or per bar."""
    if o.scope == "signal":
        return "booleans per bar"
    if o.scope == "bar":
        return f"numbers per bar, {o.bounds_text()} (NaN: none)"
    if o.kind == "choice":
        accepts = " | ".join(o.choices)
    elif o.kind == "bool":
        accepts = "true | false"
    else:
        accepts = o.bounds_text() + (f", or none ({o.none})" if o.none else "")
    per = "; one or one per column" if o.scope == "column" else ""
    return f"{accepts}; default {o.default!r}{per}"


@app.command("schema")
@command
def schema() -> None:
    """Print the JSON Schema of the engine's settings (what the API and the web forms render)."""
    from backgrid.engine.options import json_schema  # noqa: PLC0415

    write_json(json_schema())
