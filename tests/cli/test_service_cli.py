"""``backgrid serve --settings`` in a pipe: an environment file that a shell reads back to the same settings."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backgrid.cli.main import app

SHOW = ("import json; from backgrid.service.settings import Settings; "
        "print(json.dumps([(r['variable'], r['value']) for r in Settings().documented()], default=str))")


def test_serve_settings_in_a_pipe_is_an_environment_file_a_shell_reads_back(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("BACKGRID_")]:
        monkeypatch.delenv(name)
    given = {"BACKGRID_HOME": str(tmp_path / "my home"), "BACKGRID_WORKERS": "3", "BACKGRID_SECRET_KEY": "k" * 40,
             "BACKGRID_TIERS": json.dumps({"free": {"runs_per_hour": 7}, "pro": {"concurrent_runs": 9}})}
    for name, value in given.items():
        monkeypatch.setenv(name, value)
    text = CliRunner().invoke(app, ["serve", "--settings"], catch_exceptions=False).output
    assert "k" * 40 not in text  # the secret is never printed
    assert "# BACKGRID_SECRET_KEY=" in text  # and not set to its mask by a file read back
    assert all(len(line) <= 80 for line in text.splitlines() if line.startswith("#"))
    env_file = tmp_path / "backgrid.env"
    env_file.write_text(text, encoding="utf-8")
    bare = {k: v for k, v in os.environ.items() if not k.startswith("BACKGRID_")}
    bash = shutil.which("bash") or pytest.skip("no bash to read the file back")
    read_back = subprocess.run([bash, "-c", f'set -a; . "{env_file}"; "{sys.executable}" -c "{SHOW}"'], check=False,
                               env={**bare, "BACKGRID_SECRET_KEY": "k" * 40}, capture_output=True, text=True)
    assert read_back.returncode == 0, read_back.stderr
    original = subprocess.run([sys.executable, "-c", SHOW], check=False, env={**bare, **given}, capture_output=True,
                              text=True)
    assert original.returncode == 0, original.stderr
    shown, expected = json.loads(read_back.stdout), json.loads(original.stdout)
    assert shown == expected  # every setting as it was, the workers, the home with its space and the tiers too
    assert ["BACKGRID_WORKERS", 3] in shown
