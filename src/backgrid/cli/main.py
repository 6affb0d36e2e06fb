"""Entry point of the ``backgrid`` command."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from backgrid._version import __version__
from backgrid.cli import data as data_commands
from backgrid.cli import demo as demo_command
from backgrid.cli import engine as engine_commands
from backgrid.cli import indicators as indicator_commands
from backgrid.cli import optimize as optimize_commands
from backgrid.cli import robustness as robustness_commands
from backgrid.cli import runs as run_commands
from backgrid.cli import service as service_commands
from backgrid.cli import strategies as strategy_commands
from backgrid.cli.common import App

app = App(
    name="backgrid",
    help="Design, backtest and validate trading strategies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(data_commands.app, name="data")
app.add_typer(engine_commands.app, name="engine")
app.add_typer(indicator_commands.app, name="indicators")
app.add_typer(strategy_commands.app, name="strategies")
app.command("run")(strategy_commands.run)
app.command("optimize")(optimize_commands.optimize)
app.command("walkforward")(optimize_commands.walkforward)
app.command("robustness")(robustness_commands.robustness)
app.command("demo")(demo_command.demo)
app.command("diff")(run_commands.diff)
app.command("report")(run_commands.report)
app.command("serve")(service_commands.serve)
app.command("worker")(service_commands.worker)


@app.callback(invoke_without_command=True)
def main(
    ctx: typer.Context,
    home: Path | None = typer.Option(
        None, "--home", help="Data directory (default: $BACKGRID_HOME or ~/.backgrid).", show_default=False,
    ),
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    """backgrid: right to the cent, fast, and a pleasure to use."""
    # Not an eager callback: that would exit before a stray value (`--version true`) is refused.
    if version:
        sys.stdout.write(f"backgrid {__version__}\n")
        raise typer.Exit
    if ctx.invoked_subcommand is None:  # options alone, e.g. `backgrid --home DIR`
        sys.stdout.write(ctx.get_help() + "\n")
        raise typer.Exit
    if home is not None:
        os.environ["BACKGRID_HOME"] = str(home.expanduser())


def run() -> None:
    """Run the CLI (the ``backgrid`` console script)."""
    app()
