"""The tear sheet as a PDF: WeasyPrint lays out the same HTML page (its SVG charts need no script).

WeasyPrint is the ``pdf`` extra, imported on first use. Chromium printing the page (Playwright's
``page.pdf()``) would need a browser at run time; see the report package's docstring for the measurement.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from backgrid.errors import ReportError

__all__ = ["write_pdf"]


def write_pdf(page: str, path: Path) -> Path:
    """Write the HTML ``page`` to ``path`` as a PDF and return the path."""
    try:
        weasyprint = import_module("weasyprint")
    except (ImportError, OSError) as exc:  # OSError: installed, but the system lacks Pango
        msg = f'a PDF tear sheet needs WeasyPrint, the "pdf" extra: pip install "backgrid[pdf]" ({exc})'
        raise ReportError(msg) from exc
    weasyprint.HTML(string=page).write_pdf(str(path))
    return path
