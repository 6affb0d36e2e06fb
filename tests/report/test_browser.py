"""The tear sheet in headless Chromium: it opens with no network request and no console error."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from backgrid.engine.result import Result
from backgrid.report import tear_sheet

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("playwright") is None, reason="playwright is not installed"),
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
]


def test_opens_offline_without_console_errors(tmp_path: Path, result: Result) -> None:
    from playwright.sync_api import Request, Route, sync_playwright

    validation = {"pbo": {"pbo": 0.3, "logits": [-1.0, 0.5, 1.0]}, "sharpe": {"psr": 0.9}}
    out = Path(tear_sheet(result, tmp_path / "run.html", validation=validation, log_scale=True))
    url = out.as_uri()
    blocked: list[str] = []
    errors: list[str] = []

    def route(r: Route, request: Request) -> None:
        if request.url == url:
            r.continue_()
        else:
            blocked.append(request.url)
            r.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM))
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.route("**/*", route)
            page.goto(url)
            assert page.locator("section").count() >= 11
            assert page.locator("svg").count() >= 11
            width = page.evaluate("document.querySelector('#equity svg').getBoundingClientRect().width")
            assert width > 300  # the charts scale to the page
            assert page.locator('[data-metric="sharpe_ratio"]').inner_text() == f"{result.stats['sharpe_ratio']:.2f}"
        finally:
            browser.close()
    assert blocked == []
    assert errors == []
