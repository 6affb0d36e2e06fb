"""``backgrid indicators ...``: browse the indicator library."""

from __future__ import annotations

import itertools
import json

import typer

from backgrid.cli.common import App, command, console, styled, write_json
from backgrid.cli.listing import CSV_OPTION, Column, Listing, emit

app = App(help="Browse the indicator library.", no_args_is_help=True)

_COLOURS = {"beginner": "green", "intermediate": "yellow", "advanced": "magenta"}


@app.command("list")
@command
def list_(category: str | None = typer.Option(None, "--category", "-c", help="Only this category."),
          json_: bool = typer.Option(False, "--json", help="Print the whole registry as JSON."),
          csv_: bool = CSV_OPTION) -> None:
    """List the modules by category, with their difficulty level."""
    from backgrid import indicators  # noqa: PLC0415

    specs = indicators.list(category)
    columns = [Column("id"), Column("name", wrap=True), Column("level", styles=_COLOURS),
               Column("outputs", lambda r: ", ".join(r["outputs"]), wrap=True),
               Column("TA-Lib", lambda r: r["talib"] or "")]
    listings = [Listing(columns, [{"id": s.id, "name": s.name, "category": s.category, "level": s.tier,
                                   "outputs": [o.name for o in s.outputs],
                                   "talib": s.talib.function if s.talib else None} for s in group],
                        title=name.replace("_", " "))
                for name, group in itertools.groupby(specs, key=lambda s: s.category)]
    emit(listings, json_=json_, csv_=csv_, records=json.loads(indicators.to_json()) if json_ else None)
    if not (json_ or csv_):
        console().print(f"{len(specs)} modules; details: backgrid indicators show ID")


@app.command("show")
@command
def show(indicator_id: str = typer.Argument(..., metavar="ID", help="Module id, e.g. rsi."),
         json_: bool = typer.Option(False, "--json", help="Print the schema as JSON.")) -> None:
    """Print one module's schema: parameters, outputs, warm-up and confirmation delay."""
    from backgrid import indicators  # noqa: PLC0415

    spec = indicators.get(indicator_id)
    if json_:
        write_json(spec.schema())
        return
    out = console()
    out.print(styled((spec.name, "bold"), f" ({spec.id}) — {spec.category.replace('_', ' ')}, ",
                     (spec.tier, _COLOURS[spec.tier])), soft_wrap=True)
    out.print(spec.description)
    out.print(f"inputs: {', '.join(spec.inputs)}; warm-up with defaults: {spec.warmup_bars()} bars"
              + (f"; matches TA-Lib {spec.talib.function}" if spec.talib else ""))
    out.print(f"confirmation: {spec.confirmation}")
    out.print(Listing([Column("name"), Column("type"), Column("default", wrap=True), Column("allowed", wrap=True),
                       Column("help", wrap=True)],
                      [{"name": p.name, "type": p.type, "default": str(p.default), "allowed": p.allowed(),
                        "help": p.help} for p in spec.params], title="parameters"))
    out.print(Listing([Column("name"), Column("kind", wrap=True), Column("range", wrap=True),
                       Column("description", wrap=True)],
                      [{"name": o.name, "kind": o.kind + (" (sparse)" if o.sparse else ""),
                        "range": f"{o.range[0]:g} .. {o.range[1]:g}" if o.range else "",
                        "description": o.description} for o in spec.outputs], title="outputs"))
