"""The PDF holds the same headline numbers as Result.stats (WeasyPrint, the ``pdf`` extra)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from backgrid.engine.result import Result
from backgrid.report import tear_sheet
from backgrid.report.sections import HEADLINE

pytestmark = pytest.mark.skipif(importlib.util.find_spec("weasyprint") is None,
                                reason='WeasyPrint is not installed (pip install "backgrid[pdf]")')


def test_pdf_text_holds_the_headline_numbers(tmp_path: Path, result: Result) -> None:
    pypdf = pytest.importorskip("pypdf", reason="pypdf reads the PDF's text")
    out = tear_sheet(result, tmp_path / "run.pdf", manifest={"seed": 7})
    assert out == tmp_path / "run.pdf"
    assert Path(out).read_bytes().startswith(b"%PDF-")
    reader = pypdf.PdfReader(str(out))
    assert len(reader.pages) >= 3
    text = " ".join(page.extract_text() for page in reader.pages)
    text = re.sub(r"\s+", " ", text)
    s = result.stats
    for value in (f"{100 * s['total_return']:.2f}%", f"{100 * s['cagr']:.2f}%", f"{s['sharpe_ratio']:.2f}",
                  f"{s['sortino_ratio']:.2f}", f"{100 * s['max_drawdown']:.2f}%", f"{100 * s['win_rate']:.2f}%",
                  f"{s['profit_factor']:.2f}", f"{s['final_equity']:,.2f}", f"{100 * s['exposure']:.2f}%"):
        assert value in text, value
    for name in HEADLINE:
        assert name.replace("_", " ") in text, name
    for heading in ("Equity against buy and hold", "Drawdown and underwater", "Monthly and yearly returns",
                    "Rolling Sharpe ratio and volatility", "Trades", "Reproducibility"):
        assert heading in text, heading
    assert result.config.fingerprint[:16] in text.replace(" ", "")


def test_missing_weasyprint_names_the_extra(tmp_path: Path, result: Result,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from backgrid.report import pdf

    def missing(name: str) -> object:
        msg = f"No module named {name!r}"
        raise ImportError(msg)

    monkeypatch.setattr(pdf, "import_module", missing)
    from backgrid.errors import ReportError

    with pytest.raises(ReportError, match=r'pip install "backgrid\[pdf\]"'):
        tear_sheet(result, tmp_path / "run.pdf")
