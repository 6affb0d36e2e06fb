"""What the CLI prints, piped and in 80 columns: whole values, literal brackets, machine output that parses.

``CliRunner`` writes to a pipe-like buffer (not a terminal), so these runs see what ``backgrid ... | cat``
prints; ``COLUMNS=80`` is the narrowest common terminal. The module's home holds demo data built once.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml
from rich.console import Console
from typer.testing import CliRunner

from backgrid.cli.main import app
from backgrid.data.store import DataStore
from backgrid.engine.options import json_schema as engine_schema
from backgrid.indicators import list as indicator_specs
from backgrid.strategy.document import dump, load
from backgrid.strategy.library import library_names, library_path, load_library
from backgrid.strategy.spec import json_schema
from backgrid.strategy.summary import summary

if TYPE_CHECKING:
    from collections.abc import Callable

    from click.testing import Result

FIXTURES = Path(__file__).parents[1] / "data" / "fixtures"
NARROW = CliRunner(env={"COLUMNS": "80"})
LONG_SYMBOL = "A-SYMBOL-NAME-LONGER-THAN-ANY-COLUMN-OF-AN-80-COLUMN-TABLE"
SMA_SENTENCE = ("Go long DEMO-SPY on 1d when SMA(10) crosses above SMA(50); exit when SMA(10) crosses below "
                "SMA(50); invest 100% of equity per trade.")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with the DEMO-SPY demo series (1h, 1d) and one imported series with a long symbol."""
    path = tmp_path_factory.mktemp("demo-home")
    for args in (["demo", "--symbol", "DEMO-SPY", "--timeframe", "1h", "--timeframe", "1d"],
                 ["data", "import", str(FIXTURES / "formats" / "yahoo_aapl_1d.csv"), "-s", LONG_SYMBOL, "-t", "1d"]):
        result = NARROW.invoke(app, ["--home", str(path), *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    return path


def cli(home: Path, *args: object, runner: CliRunner = NARROW) -> Result:
    return runner.invoke(app, ["--home", str(home), *(str(a) for a in args)], catch_exceptions=False)


def words(text: str) -> str:
    return " ".join(text.split())


def check_data_list(result: Result, home: Path) -> None:
    for info in DataStore(home).list():
        row = (rf"{info.source}\s+{re.escape(info.symbol)}\s+{info.timeframe}\s+{info.rows:,}\s+"
               rf"{info.first_ts:%Y-%m-%d %H:%M}\s+{info.last_ts:%Y-%m-%d %H:%M}\s+{info.updated_at:%Y-%m-%d %H:%M}")
        assert re.search(row, result.stdout), f"expected a whole row for {info.symbol} {info.timeframe}"


def check_data_show(result: Result, home: Path) -> None:
    info = DataStore(home).info("DEMO-SPY", "1d")
    assert f"     file  {info.path} ({info.size_bytes:,} bytes)" in result.stdout.splitlines()
    assert f"sha256 {info.checksum} (verified)" in result.stdout


def check_import(result: Result, home: Path) -> None:
    del home
    row = rf"^csv\s+{LONG_SYMBOL}\s+1d\s+5\s+2024-01-02 00:00\s+2024-01-08 00:00"
    assert re.search(row, result.stdout, re.MULTILINE), "expected the whole symbol"


def check_indicators_list(result: Result, home: Path) -> None:
    del home
    for spec in indicator_specs():
        assert re.search(rf"^{spec.id}\s+{re.escape(spec.name)}\s+{spec.tier}\b", result.stdout, re.MULTILINE), spec.id


def check_indicators_show(result: Result, home: Path) -> None:
    del home
    assert re.search(r"^slow_period\s+int\s+26\s+an integer in \[2, 1000\]\s+Bars in the slow EMA \(swapped with "
                     r"the fast one if shorter\)\.$", result.stdout, re.MULTILINE)


def check_strategies_list(result: Result, home: Path) -> None:
    del home
    for name in library_names():
        spec = load_library(name)
        assert re.search(rf"^{name}\s+.*{re.escape(spec.description)}$", result.stdout, re.MULTILINE), name


def check_show(result: Result, home: Path) -> None:
    del home
    assert result.stdout == f"# {summary(load_library('ict-fvg-london'))}\n{dump(load_library('ict-fvg-london'))}"


def check_validate(result: Result, home: Path) -> None:
    del home
    sentence = summary(load_library("ict-fvg-london"))
    assert f"✓ {library_path('ict-fvg-london')}: {sentence}" in result.stdout.splitlines()


def check_schema(result: Result, home: Path) -> None:
    del home
    assert json.loads(result.stdout) == json_schema()


def check_engine_options(result: Result, home: Path) -> None:
    del home
    assert "      0 < x <= 1000; default 1.0" in result.stdout.splitlines()


def check_engine_schema(result: Result, home: Path) -> None:
    del home
    assert json.loads(result.stdout) == engine_schema()


def check_run(result: Result, home: Path) -> None:
    del home
    assert f"sma-cross — {SMA_SENTENCE}" in result.stdout.splitlines()
    assert re.search(r"^probabilistic_sharpe_ratio\s+\d\.\d+$", result.stdout, re.MULTILINE)


def check_sweep(result: Result, home: Path) -> None:
    del home
    lines = result.stdout.splitlines()
    header = next(i for i, line in enumerate(lines)
                  if re.fullmatch(r"fast\s+slow\s+return\s+Sharpe\s+max DD\s+trades\s+win rate\s+PF", line))
    rows = [line for line in lines[header + 1:] if re.match(r"^\s*\d+\s+\d+\s+-?[\d.]+%\s", line)]
    assert len(rows) == 4, lines[header:]  # the four parameter sets


def check_demo(result: Result, home: Path) -> None:
    del home
    assert f"sma-cross — {SMA_SENTENCE}" in result.stdout.splitlines()
    assert re.search(r"^DEMO-SPY\s+1d\s+1,043\s+2021-01-01 00:00\s+2024-12-31 00:00$", result.stdout, re.MULTILINE)


COMMANDS: dict[str, tuple[list[str], Callable[[Result, Path], None]]] = {
    "data list": (["data", "list"], check_data_list),
    "data show": (["data", "show", "DEMO-SPY", "-t", "1d"], check_data_show),
    "data import": (["data", "import", str(FIXTURES / "formats" / "yahoo_aapl_1d.csv"), "-s", LONG_SYMBOL,
                     "-t", "1d"], check_import),
    "indicators list": (["indicators", "list"], check_indicators_list),
    "indicators show": (["indicators", "show", "macd"], check_indicators_show),
    "strategies list": (["strategies", "list"], check_strategies_list),
    "strategies show": (["strategies", "show", "ict-fvg-london"], check_show),
    "strategies validate": (["strategies", "validate", str(library_path("ict-fvg-london"))], check_validate),
    "strategies schema": (["strategies", "schema"], check_schema),
    "engine options": (["engine", "options"], check_engine_options),
    "engine schema": (["engine", "schema"], check_engine_schema),
    "run": (["run", "sma-cross"], check_run),
    "run --sweep": (["run", "sma-cross", "--sweep", "fast=5,10", "--sweep", "slow=30,50"], check_sweep),
    "demo": (["demo", "--symbol", "DEMO-SPY", "--timeframe", "1d"], check_demo),
}


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_piped_in_80_columns_prints_whole_values(name: str, home: Path) -> None:
    args, check = COMMANDS[name]
    result = cli(home, *args)
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    if name != "strategies show":  # compared byte for byte with dump(), whose folded YAML lines end in a space
        for line in result.stdout.splitlines():
            assert line == line.rstrip(), f"a piped line is padded: {line!r}"
    check(result, home)


def test_listings_print_json_and_csv(home: Path) -> None:
    stored = json.loads(cli(home, "data", "list", "--json").stdout)
    assert {(r["symbol"], r["timeframe"], r["bars"]) for r in stored} == {
        (i.symbol, str(i.timeframe), i.rows) for i in DataStore(home).list()}
    csv_lines = cli(home, "data", "list", "--csv").stdout.splitlines()
    assert csv_lines[0] == "source,symbol,timeframe,bars,first_bar,last_bar,updated,synthetic,last_complete,adjustment"
    assert len(csv_lines) == 1 + len(stored)
    ready = json.loads(cli(home, "strategies", "list", "--json").stdout)
    assert [r["name"] for r in ready] == library_names()
    assert ready[0]["description"] == load_library(library_names()[0]).description
    assert cli(home, "strategies", "list", "--csv").stdout.startswith("name,symbols,timeframe,description\n")
    registry = json.loads(cli(home, "indicators", "list", "--json").stdout)
    assert [s["id"] for s in registry["indicators"]] == [s.id for s in indicator_specs()]
    rows = cli(home, "indicators", "list", "--csv").stdout.splitlines()
    assert rows[0] == "id,name,category,level,outputs,talib"
    assert len(rows) == 1 + len(indicator_specs())
    both = cli(home, "data", "list", "--json", "--csv")
    assert both.exit_code == 2
    assert "choose one of --json and --csv, got both" in both.output


@pytest.mark.parametrize("name", library_names())
def test_strategies_show_writes_files_that_validate(name: str, tmp_path: Path) -> None:
    narrow = CliRunner(env={"COLUMNS": "40"})  # narrower than any document line: nothing may wrap
    for fmt, extra, parse in (("yaml", [], yaml.safe_load), ("json", ["--json"], json.loads)):
        shown = narrow.invoke(app, ["strategies", "show", name, *extra], catch_exceptions=False)
        path = tmp_path / f"{name}.{fmt}"
        path.write_text(shown.stdout, encoding="utf-8")
        assert parse(shown.stdout) is not None
        checked = narrow.invoke(app, ["strategies", "validate", str(path)], catch_exceptions=False)
        assert checked.exit_code == 0, checked.output
        assert load(path) == load_library(name)


def test_bracketed_text_prints_as_written(tmp_path: Path) -> None:
    unsorted = NARROW.invoke(app, ["data", "import", str(FIXTURES / "malformed" / "12_unsorted.csv"), "-s", "X",
                                   "-t", "1d"])
    assert "error [unsorted] time goes backwards" in unsorted.output
    infinite = NARROW.invoke(app, ["data", "import", str(FIXTURES / "malformed" / "05_infinite_volume.csv"),
                                   "-s", "X", "-t", "1d"])
    assert "error [non_finite] line 3, column Volume" in infinite.output
    missing = NARROW.invoke(app, ["data", "import", str(tmp_path / "missing[daily].csv"), "-s", "X", "-t", "1d"])
    assert f"error: {tmp_path / 'missing[daily].csv'}: no such file" in words(missing.output)
    bad = tmp_path / "bad[1].yaml"
    bad.write_text("schema_version: 3\nname: Bad Name\n", encoding="utf-8")
    refused = NARROW.invoke(app, ["strategies", "validate", str(bad)])
    assert f"✗ {bad}: 3 problems" in refused.output
    assert "name: string should match pattern '^[a-z0-9][a-z0-9_-]*$', got 'Bad Name'" in words(refused.output)


def test_errors_refusals_and_progress_go_to_stderr(home: Path, tmp_path: Path) -> None:
    refused = cli(home, "data", "import", FIXTURES / "malformed" / "12_unsorted.csv", "-s", "X", "-t", "1d")
    assert refused.exit_code == 1
    assert refused.stdout == ""
    assert "nothing was imported (use --fix CHECK or --warn CHECK to accept these rows)" in refused.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: 3\n", encoding="utf-8")
    invalid = cli(home, "strategies", "validate", bad)
    assert (invalid.exit_code, invalid.stdout) == (1, "")
    assert f"✗ {bad}" in invalid.stderr
    ran = cli(home, "run", "sma-cross")
    assert "loading data" in ran.stderr.splitlines()
    assert "running 1 parameter set(s)" in ran.stderr.splitlines()
    assert "loading data" not in ran.stdout
    demo = cli(home, "demo", "--symbol", "DEMO-SPY", "--timeframe", "1d")
    assert "DEMO-SPY 1d: resample, validate, store" in demo.stderr.splitlines()
    assert "resample, validate, store" not in demo.stdout


def _commands(group: object, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, sub in getattr(group, "commands", {}).items():
        found += _commands(sub, (*path, name))
    return found


def test_help_shows_no_python_types_and_flags_take_no_value() -> None:
    from typer.main import get_command

    for path in _commands(get_command(app)):
        shown = NARROW.invoke(app, [*path, "--help"], catch_exceptions=False).stdout
        assert not re.search(r"<\w+(\[\w+\])?>", shown), f"backgrid {' '.join(path)} --help shows a type:\n{shown}"
    assert NARROW.invoke(app, ["--version"]).stdout.startswith("backgrid ")
    stray = NARROW.invoke(app, ["--version", "true"])
    assert stray.exit_code == 2
    assert "No such command 'true'" in stray.output


def test_a_terminal_gets_a_table_that_fits_and_cuts_no_value(home: Path) -> None:
    from backgrid.cli.data import series_listing
    screen = Console(force_terminal=True, width=70, color_system=None)
    with screen.capture() as captured:
        screen.print(series_listing(DataStore(home).list(symbol="DEMO-SPY")))
    lines = captured.get().splitlines()
    assert max(len(line) for line in lines) <= 70
    assert "…" not in captured.get()
    assert "not shown in 70 columns: updated (see --json)" in words(captured.get())
    assert any(re.fullmatch(r"demo\s+DEMO-SPY\s+1d\s+1,043\s+2021-01-01\s+2024-12-31\s+synthetic\s*", line)
               for line in lines)  # whole values; the dates wrap before their times
    with screen.capture() as captured:
        screen.print(series_listing(DataStore(home).list(symbol=LONG_SYMBOL)))
    assert "…" not in captured.get()  # too long to fit even so: folded across lines, not cut


def test_the_first_run_says_it_compiles(tmp_path: Path) -> None:
    from backgrid.cli.strategies import _running
    from backgrid.engine.jit import kernel_compiled
    cold = subprocess.run([sys.executable, "-c", "from backgrid.cli.strategies import _running; print(_running(3))"],
                          env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}, capture_output=True, text=True,
                          check=True)
    assert cold.stdout == "compiling the engine (first run only), then running 3 parameter set(s)\n"
    NARROW.invoke(app, ["run", "sma-cross"], catch_exceptions=False)  # compiled in this process, and cached
    assert kernel_compiled(columns=1)
    assert _running(3) == "running 3 parameter set(s)"
