"""The tear sheet of a backtest: one self-contained HTML page, or its PDF (the ``pdf`` extra, WeasyPrint).

``tear_sheet(result, "run.html")`` writes the page, ``tear_sheet(result, "run.pdf")`` its PDF, and
``tear_sheet(result)`` returns the HTML; ``report_run(folder)`` writes the page of a run folder with its
insights and regimes. Charts are static inline SVG downsampled with LTTB (:func:`lttb`);
every statistic uses all bars.

Why WeasyPrint and not Chromium printing the page: measured on a 2-core machine under load (one year of
daily bars, 262 bars, the same HTML), WeasyPrint wrote the PDF in 0.6-1.9 s in process (0.5-0.8 s more
to import it once); Chromium through Playwright took 1.6-2.6 s with the browser started for the PDF and
0.09-0.6 s with a browser already running. The times are alike; WeasyPrint is a ``pip install`` while
Chromium is a system browser a wheel cannot bring, and the page needs no script, so WeasyPrint prints it
as a browser shows it.
"""

from backgrid.report.folder import Written, footer, report_run
from backgrid.report.lttb import lttb
from backgrid.report.tearsheet import MANIFEST_KEYS, tear_sheet

__all__ = ["MANIFEST_KEYS", "Written", "footer", "lttb", "report_run", "tear_sheet"]
