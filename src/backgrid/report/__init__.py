"""The tear sheet of a backtest: one self-contained HTML page, or its PDF (the ``pdf`` extra, WeasyPrint).

>>> from backgrid.report import tear_sheet
>>> # tear_sheet(result, "run.html"); tear_sheet(result, "run.pdf")

The PDF is WeasyPrint laying out the same page, not Chromium printing it: measured on this project's machine
(one core), WeasyPrint wrote one year of daily bars in about a second from Python, while Chromium via
Playwright needed its browser started and a page loaded (see the integrator's notes for the numbers), and a
browser is a system dependency that a ``pip install`` cannot bring.
"""

from backgrid.report.lttb import lttb
from backgrid.report.tearsheet import MANIFEST_KEYS, tear_sheet

__all__ = ["MANIFEST_KEYS", "lttb", "tear_sheet"]
