"""The README is a test: every Python block and every CLI line runs, in order, in a fresh home.

The files the README names are made here: ``AAPL.csv`` and ``messy.csv`` from committed fixtures,
``my-strategy.yaml`` from the README's own document block. Of the two commands at the top, the first runs
its ``backgrid`` part (installing is the reader's job); the second is this suite.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backgrid.cli.main import app

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
FIXTURES = Path(__file__).parent / "fixtures"
INSTALL = ("python3 -m venv .venv && .venv/bin/pip install -q -e . && "
           ".venv/bin/backgrid run sma-cross --out backgrid-run")
TEST = 'python3 -m venv .venv && .venv/bin/pip install -q -e ".[test]" && .venv/bin/python -m pytest'


def blocks(text: str) -> list[tuple[str, int, str]]:
    """The fenced blocks of ``text``: (language, line of the first code line, code)."""
    return [(m.group(1), text.count("\n", 0, m.start(2)) + 1, m.group(2))
            for m in re.finditer(r"^```(\w*)\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)]


def cli(line: str, where: str, cwd: Path) -> None:
    """Run one ``backgrid ...`` line in-process; ``> file`` writes its output there."""
    command, _, target = line.partition(" > ")
    words = shlex.split(command, comments=True)
    assert words[0] == "backgrid", f"{where}: expected a backgrid command, got {line!r}"
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, words[1:], catch_exceptions=False)
    assert result.exit_code == 0, f"{where}: `{command.strip()}` exited with {result.exit_code}:\n{result.output}"
    if target:
        file = cwd / shlex.split(target, comments=True)[0]
        file.write_text(result.stdout, encoding="utf-8")
        if file.suffix == ".json":
            json.loads(file.read_text(encoding="utf-8"))  # machine-readable output is exactly JSON


def test_the_first_two_lines_are_the_two_commands():
    lang, _, code = blocks(README.read_text(encoding="utf-8"))[0]
    assert (lang, code.splitlines()[:2]) == ("bash", [INSTALL, TEST])


def test_links_name_files_a_clone_has():
    text = README.read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)#]+)\)", text) + re.findall(r"`((?:\.\./|docs/|examples/)[\w./-]+)`", text)
    assert links
    missing = [link for link in links
               if not (ROOT / link).exists() or ROOT not in (ROOT / link).resolve().parents]  # in the clone
    assert not missing, f"the README points at {missing}, which a clone does not have"


def test_the_first_command_output_is_ignored_by_git():
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert "backgrid-run/" in ignored


@pytest.mark.slow
def test_every_block_runs_in_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(FIXTURES.parent / "data" / "fixtures" / "formats" / "yahoo_aapl_1d.csv", tmp_path / "AAPL.csv")
    shutil.copy(FIXTURES / "readme" / "messy.csv", tmp_path / "messy.csv")
    found = blocks(README.read_text(encoding="utf-8"))
    documents = [code for lang, _, code in found if lang == "yaml"]
    assert len(documents) == 1, "expected one strategy document in the README"
    (tmp_path / "my-strategy.yaml").write_text(documents[0], encoding="utf-8")
    namespace: dict[str, object] = {"__name__": "readme"}
    ran = {"python": 0, "bash": 0}
    for lang, first, code in found:
        if lang == "python":
            exec(compile(code, f"README.md:{first}", "exec"), namespace)  # noqa: S102  # the README's own code
            ran[lang] += 1
        elif lang == "bash":
            for offset, line in enumerate(code.splitlines()):
                where = f"README.md:{first + offset}"
                if line == TEST:  # this suite
                    continue
                command = line.split(" && ")[-1].removeprefix(".venv/bin/")
                cli(command, where, tmp_path)
                ran[lang] += 1
    assert ran["python"] >= 1
    assert ran["bash"] >= 10
    assert (tmp_path / "backgrid-run" / "chart.html").is_file()
    text = README.read_text(encoding="utf-8")
    said = text[text.index("A sweep first estimates"):text.index("## Strategy documents")]
    promised = re.findall(r"`([\w.]+\.(?:csv|parquet|yaml|txt|npz|json))`", said)  # what a sweep's folder holds
    assert sorted(p.name for p in (tmp_path / "sweep").iterdir()) == sorted([*promised, "chart.html"])
