"""Project-level checks: the README's commands, CI, lint, types, and a light CLI start."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def readme_commands():
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.DOTALL)
    assert block, "README must open with a bash block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_two_commands_main_job_then_tests():
    commands = readme_commands()
    assert len(commands) == 2
    assert "backgrid run " in commands[0]  # a ready strategy on the demo data
    assert commands[1].endswith("-m pytest")


def test_ci_runs_exactly_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "grep -m1 -- '-m pytest' README.md" in script
    first_match = next(line for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
                       if "-m pytest" in line)
    assert first_match == readme_commands()[1]
    assert '"${status}" -eq 5' in script  # pytest's "no tests ran" fails CI


def test_ruff_is_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "src", "tests", "benchmarks", "examples"], cwd=ROOT,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy_is_clean():
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cli_starts_without_heavy_imports():
    code = ("import sys, backgrid.cli.main; heavy = {'numpy', 'pandas', 'numba', 'pyarrow'} & set(sys.modules);"
            "print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_package_api_is_explicit_and_lazy():
    import backgrid

    for name in backgrid.__all__:
        assert getattr(backgrid, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = backgrid.nope
