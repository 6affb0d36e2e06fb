"""``backgrid indicators ...``: browse the indicator library."""

from __future__ import annotations

import itertools

import typer

from backgrid.cli.common import command, console

app = typer.Typer(help="Browse the indicator library.", no_args_is_help=True)

_BADGES = {"beginner": "[green]beginner[/]", "intermediate": "[yellow]intermediate[/]",
           "advanced": "[magenta]advanced[/]"}


@app.command("list")
@command
def list_(category: str | None = typer.Option(None, "--category", "-c", help="Only this category."),
          json_: bool = typer.Option(False, "--json", help="Print the whole registry as JSON.")) -> None:
    """List the modules by category, with their difficulty badge."""
    from rich import box  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    from backgrid import indicators  # noqa: PLC0415

    specs = indicators.list(category)
    out = console()
    if json_:
        out.print_json(indicators.to_json())
        return
    for name, group in itertools.groupby(specs, key=lambda s: s.category):
        table = Table(title=name.replace("_", " "), box=box.SIMPLE_HEAD, title_justify="left")
        for column in ("id", "name", "level", "outputs", "TA-Lib"):
            table.add_column(column, no_wrap=column != "name")
        for spec in group:
            table.add_row(spec.id, spec.name, _BADGES[spec.tier], ", ".join(o.name for o in spec.outputs),
                          spec.talib.function if spec.talib else "")
        out.print(table)
    out.print(f"{len(specs)} modules; details: [bold]backgrid indicators show ID[/]")


@app.command("show")
@command
def show(indicator_id: str = typer.Argument(..., metavar="ID", help="Module id, e.g. rsi."),
         json_: bool = typer.Option(False, "--json", help="Print the schema as JSON.")) -> None:
    """Print one module's schema: parameters, outputs, warm-up and confirmation delay."""
    import json  # noqa: PLC0415

    from rich import box  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    from backgrid import indicators  # noqa: PLC0415

    spec = indicators.get(indicator_id)
    out = console()
    if json_:
        out.print_json(json.dumps(spec.schema()))
        return
    out.print(f"[bold]{spec.name}[/] ({spec.id}) — {spec.category.replace('_', ' ')}, {_BADGES[spec.tier]}")
    out.print(spec.description)
    out.print(f"inputs: {', '.join(spec.inputs)}; warm-up with defaults: {spec.warmup_bars()} bars"
              + (f"; matches TA-Lib {spec.talib.function}" if spec.talib else ""))
    out.print(f"confirmation: {spec.confirmation}")
    params = Table(title="parameters", box=box.SIMPLE_HEAD, title_justify="left")
    for name in ("name", "type", "default", "allowed", "help"):
        params.add_column(name)
    for p in spec.params:
        params.add_row(p.name, p.type, str(p.default), p.allowed(), p.help)
    out.print(params)
    outputs = Table(title="outputs", box=box.SIMPLE_HEAD, title_justify="left")
    for name in ("name", "kind", "range", "description"):
        outputs.add_column(name)
    for o in spec.outputs:
        outputs.add_row(o.name, o.kind + (" (sparse)" if o.sparse else ""),
                        f"{o.range[0]:g} .. {o.range[1]:g}" if o.range else "", o.description)
    out.print(outputs)
