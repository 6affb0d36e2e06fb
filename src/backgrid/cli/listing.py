"""Listings: one set of records printed as a table, as plain columns, as JSON or as CSV.

A terminal gets a table that fits its width: text columns wrap between words, and when the columns that
cannot wrap (symbols, numbers) still do not fit, the optional columns are left out and the caption says
which. A pipe or a file gets plain columns as wide as their longest value, with no padding at the end of
a line. No value is ever cut short.
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import typer

from backgrid.cli.common import console, write_json

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

    from rich.console import Console, ConsoleOptions, RenderResult

JSON_OPTION = typer.Option(False, "--json", help="Print the records as JSON instead of a table.")
CSV_OPTION = typer.Option(False, "--csv", help="Print the records as CSV instead of a table.")


@dataclass(frozen=True)
class Column:
    """A column of a listing: its header and how a record's cell reads (default: the header's field).

    ``wrap``: the cell may break between words in a narrow terminal; ``optional``: the column is left out
    of a terminal too narrow for it (the JSON and CSV keep it); ``styles``: a terminal's style for a cell
    by its text (``{"beginner": "green"}``).
    """

    header: str
    cell: Callable[[Mapping[str, Any]], str] | None = None
    justify: Literal["left", "right"] = "left"
    wrap: bool = False
    optional: bool = False
    styles: Mapping[str, str] = field(default_factory=dict)

    def text(self, record: Mapping[str, Any]) -> str:
        """The cell of ``record`` in this column."""
        if self.cell is not None:
            return self.cell(record)
        value = record[self.header]
        return "" if value is None else str(value)


@dataclass(frozen=True)
class Listing:
    """Records and the columns that show them; print it on a console (a rich renderable)."""

    columns: Sequence[Column]
    records: Sequence[Mapping[str, Any]]
    title: str | None = None
    caption: str | None = None
    rows: list[list[str]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rows", [[c.text(r) for c in self.columns] for r in self.records])

    def __rich_console__(self, screen: Console, options: ConsoleOptions) -> RenderResult:
        """A wrapping table on a terminal, plain columns elsewhere."""
        if screen.is_terminal:
            yield self._table(options.max_width)
            return
        from rich.segment import Segment  # noqa: PLC0415

        for line in self._plain_lines():
            yield Segment(line)
            yield Segment.line()

    def _plain_lines(self) -> Iterator[str]:
        """The title, the header and one line a record, columns two spaces apart, no trailing spaces."""
        headers = [c.header for c in self.columns]
        widths = [max(len(cell) for cell in column) for column in zip(headers, *self.rows, strict=True)]
        if self.title:
            yield self.title
        for cells in (headers, *self.rows):
            padded = [cell.rjust(w) if c.justify == "right" else cell.ljust(w)
                      for c, cell, w in zip(self.columns, cells, widths, strict=True)]
            yield "  ".join(padded).rstrip()
        if self.caption:
            yield self.caption

    def _table(self, width: int) -> Any:
        from rich.table import Table  # noqa: PLC0415
        from rich.text import Text  # noqa: PLC0415

        shown = list(range(len(self.columns)))
        hidden = []
        optional = [i for i, c in enumerate(self.columns) if c.optional]
        while self._min_width(shown) > width and optional:
            drop = optional.pop()  # the last optional column first
            shown.remove(drop)
            hidden.append(self.columns[drop].header)
        note = f"not shown in {width} columns: {', '.join(reversed(hidden))} (see --json)" if hidden else None
        caption = "; ".join(filter(None, [self.caption, note]))
        table = Table(title=self.title, caption=caption or None, box=None, pad_edge=False, title_justify="left",
                      caption_justify="left", header_style="bold underline", title_style="bold")
        for i in shown:
            c = self.columns[i]
            table.add_column(c.header, justify=c.justify, no_wrap=not c.wrap, overflow="fold")  # fold, never "…"
        for cells in self.rows:
            table.add_row(*(Text(cells[i], style=self.columns[i].styles.get(cells[i], "")) for i in shown))
        return table

    def _min_width(self, shown: Sequence[int]) -> int:
        """The narrowest table of these columns: whole cells, or whole words where a column wraps."""
        def narrowest(i: int) -> int:
            cells = [self.columns[i].header, *(row[i] for row in self.rows)]
            if self.columns[i].wrap:
                return max(len(word) for cell in cells for word in cell.split() or [""])
            return max(len(cell) for cell in cells)

        return sum(narrowest(i) for i in shown) + 2 * (len(shown) - 1)  # two spaces between columns


def emit(listings: Sequence[Listing], *, json_: bool, csv_: bool, records: Any = None) -> None:
    """Print ``listings`` as tables, or all their records as JSON (``records`` instead when given) or CSV."""
    if json_ and csv_:
        msg = "choose one of --json and --csv, got both"
        raise typer.BadParameter(msg)
    rows = [dict(r) for listing in listings for r in listing.records]
    if json_:
        write_json(rows if records is None else records)
        return
    if csv_:
        fields = list(dict.fromkeys(key for row in rows for key in row))
        writer = csv.DictWriter(sys.stdout, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: _csv_cell(v) for k, v in row.items()} for row in rows)
        return
    screen = console()
    for number, listing in enumerate(listings):
        if number:
            screen.print()  # a blank line between listings
        screen.print(listing)


def _csv_cell(value: Any) -> Any:
    return " ".join(map(str, value)) if isinstance(value, list | tuple) else value
