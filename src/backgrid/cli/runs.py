"""Commands over run folders (what ``backgrid run --out`` writes): ``diff`` two of them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from backgrid.cli.common import command, write_json
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
