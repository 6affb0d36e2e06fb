"""Malformed strategy documents: each fails with an error naming the path and what was expected.

Each fixture's first two lines say which path the error must name and what it must say.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from backgrid.cli.main import app
from backgrid.errors import SpecError
from backgrid.strategy.document import load

FIXTURES = sorted((Path(__file__).parent / "malformed").glob("*.yaml"))


def _expected(path: Path) -> tuple[str, str]:
    head = path.read_text(encoding="utf-8").splitlines()[:2]
    return head[0].removeprefix("# expect-path:").strip(), head[1].removeprefix("# expect:").strip()


def test_there_are_at_least_thirty() -> None:
    assert len(FIXTURES) >= 30


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
def test_error_names_the_path_and_the_expectation(fixture: Path) -> None:
    path, expect = _expected(fixture)
    with pytest.raises(SpecError) as caught:
        load(fixture)
    problems = caught.value.problems
    assert any(where == path and expect in message for where, message in problems), problems
    assert str(fixture) in str(caught.value)


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
def test_validate_command_reports_without_a_traceback(fixture: Path) -> None:
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["strategies", "validate", str(fixture)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert _expected(fixture)[1].split("'")[0][:20] in " ".join(result.output.split())
