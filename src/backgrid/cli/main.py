"""Entry point of the ``backgrid`` command."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from backgrid._version import __version__
from backgrid.cli import data as data_commands
from backgrid.cli import demo as demo_command
from backgrid.cli import engine as engine_commands
from backgrid.cli import indicators as indicator_commands
from backgrid.cli import strategies as strategy_commands
from backgrid.cli.common import console

app = typer.Typer(
    name="backgrid",
    help="Design, backtest and validate trading strategies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(data_commands.app, name="data")
app.add_typer(engine_commands.app, name="engine")
app.add_typer(indicator_commands.app, name="indicators")
app.add_typer(strategy_commands.app, name="strategies")
app.command("run")(strategy_commands.run)
app.command("demo")(demo_command.demo)


def _show_version(value: bool) -> None:
    if value:
        console().print(f"backgrid {__version__}")
        raise typer.Exit


@app.callback()
def main(
    home: Path | None = typer.Option(
        None, "--home", help="Data directory (default: $BACKGRID_HOME or ~/.backgrid).", show_default=False,
    ),
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Print the version and exit.",
    ),
) -> None:
    """backgrid: right to the cent, fast, and a pleasure to use."""
    del version  # handled by its callback
    if home is not None:
        os.environ["BACKGRID_HOME"] = str(home.expanduser())


def run() -> None:
    """Run the CLI (the ``backgrid`` console script)."""
    app()
