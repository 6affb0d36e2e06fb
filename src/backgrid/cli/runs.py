"""Commands over run folders (what ``backgrid run --out`` writes): their tear sheet, and ``diff`` of two."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from backgrid.cli.common import command, console, error_console, write_json
from backgrid.cli.listing import JSON_OPTION

RunFolder = Annotated[Path, typer.Argument(help="A run folder written by backgrid run --out.", show_default=False)]


@command
def diff(a: RunFolder, b: RunFolder, json_: bool = JSON_OPTION) -> None:
    """Say why two runs differ: documents, settings, data, versions, the first bar they part, trades, statistics.

    Nothing is run again; the signals are compiled again when the store still holds the bars the runs recorded.
    """
    from backgrid.analysis.diff import diff_runs  # noqa: PLC0415

    found = diff_runs(a, b)
    if json_:
        write_json(found.to_dict())
    else:
        sys.stdout.write(found.render())


@command
def report(
    run: RunFolder,
    pdf: bool = typer.Option(False, "--pdf", help="Write tear.pdf (needs backgrid[pdf]) instead of tear.html."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the tear sheet to this file (.html or "
                                    ".pdf) instead of the run folder.", show_default=False),
    plain: bool = typer.Option(False, "--plain", help="Write the insights and readings without jargon."),
    benchmark: str | None = typer.Option(None, "--benchmark", "-b", help="Compare with this stored symbol (its "
                                         "closes at the run's timeframe) instead of buy and hold.",
                                         show_default=False),
) -> None:
    """Write the tear sheet of a run folder: statistics with plain readings, insights, charts, regimes, trades."""
    write_report(run, out=out, pdf=pdf, plain=plain, benchmark=benchmark)


def write_report(run: Path, *, out: Path | None = None, pdf: bool = False, plain: bool = False,
                 benchmark: str | None = None) -> None:
    """Write a run folder's tear sheet and say where (and, on stderr, what was left out)."""
    from backgrid.report import report_run  # noqa: PLC0415

    written = report_run(run, out, pdf=pdf, plain=plain, benchmark=benchmark)
    if written.note:
        error_console().print(f"note: {written.note}", markup=False, soft_wrap=True)
    console().print(f"wrote {written.path}", markup=False, soft_wrap=True)
