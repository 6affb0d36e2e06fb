"""``backgrid data``: what import, show and delete say about guesses, merges and nothing found."""

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from backgrid.cli.main import app
from backgrid.data.store import DataStore

FIXTURES = Path(__file__).parents[1] / "data" / "fixtures"
YAHOO = FIXTURES / "formats" / "yahoo_aapl_1d.csv"
runner = CliRunner(env={"COLUMNS": "200"})


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    return result, re.sub(r"\s+", " ", result.output)


def test_a_european_csv_imports_from_the_command_line(tmp_path):
    path = tmp_path / "eu.csv"
    path.write_text("Datum;Open;High;Low;Close;Volume\n2024-01-02;10,5;11,25;9,75;10,5;100\n", encoding="utf-8")
    result, text = invoke("data", "import", path, "-s", "EU", "-t", "1d")
    assert result.exit_code == 0, text
    assert "inferred semicolon-separated columns" in text
    assert "inferred decimal commas" in text
    assert DataStore().read("EU", "1d").high.tolist() == [11.25]
    told, _ = invoke("data", "import", path, "-s", "EU2", "-t", "1d", "--sep", ";", "--decimal", ",")
    assert told.exit_code == 0


def test_a_yahoo_stock_shows_its_inferred_us_equity_calendar():
    invoke("data", "import", YAHOO, "-s", "AAPL", "-t", "1d")
    result, text = invoke("data", "show", "AAPL")
    assert result.exit_code == 0, text
    assert "calendar us-equity (inferred, low confidence; see below)" in text
    assert "inferred calendar us-equity inferred (a guess): daily bars on weekdays only, from a Yahoo" in text


def test_a_merge_says_how_many_rows_overlapped_and_changed():
    invoke("data", "import", YAHOO, "-s", "AAPL", "-t", "1d")
    result, text = invoke("data", "import", YAHOO, "-s", "AAPL", "-t", "1d", "--mode", "merge")
    assert result.exit_code == 0, text
    assert "merged: 0 new row(s); 5 row(s) at times already stored, 0 of them with different values" in text


def test_deleting_nothing_is_an_error():
    result, text = invoke("data", "delete", "NOPE")
    assert result.exit_code == 1
    assert "nothing to delete: no series 'NOPE'" in text
    invoke("data", "import", YAHOO, "-s", "AAPL", "-t", "1d")
    result, text = invoke("data", "delete", "AAPL", "-t", "1h")
    assert result.exit_code == 1
    assert "no series 'AAPL' 1h" in text
    assert invoke("data", "delete", "AAPL")[0].exit_code == 0


def test_an_import_says_what_its_prices_account_for_and_a_merge_must_agree():
    result, text = invoke("data", "import", YAHOO, "-s", "AAPL", "-t", "1d", "--adjustment", "splits")
    assert result.exit_code == 0, text
    assert DataStore().read("AAPL", "1d").adjustment == "splits"
    assert "prices adjusted for splits" in invoke("data", "show", "AAPL")[1]
    listed = runner.invoke(app, ["data", "list", "--json"])
    assert [r["adjustment"] for r in json.loads(listed.stdout)] == ["splits"]
    result, text = invoke("data", "import", YAHOO, "-s", "AAPL", "-t", "1d", "--mode", "merge")
    assert result.exit_code == 1
    assert "'raw'-adjusted but the stored series is 'splits'-adjusted; nothing was written" in text
