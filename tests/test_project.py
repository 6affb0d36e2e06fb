"""Project-level checks: the README's commands, CI, lint, types, import contracts, and a light CLI start."""

import os
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


def lint_imports(cwd: Path, *paths: Path) -> subprocess.CompletedProcess[str]:
    """Run lint-imports on the ``[tool.importlinter]`` of ``cwd``'s pyproject.toml, importing from ``paths``."""
    code = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True, no_logo=True))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*map(str, paths), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, check=False)


def test_import_contracts_are_kept():
    result = lint_imports(ROOT, ROOT / "src", ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout  # every contract of pyproject.toml ran


@pytest.mark.parametrize(("imports", "kept"), [("import numpy\nfrom . import b_nb\n", True),
                                               ("import numpy\nimport math\n", False),
                                               ("from fakepkg.core import wrapper\n", False)])
def test_the_kernel_contract_allows_only_what_it_lists(tmp_path, imports, kept):
    (tmp_path / "pyproject.toml").write_text("""
[tool.importlinter]
root_packages = ["fakepkg"]
include_external_packages = true
contract_types = ["only_imports: tests.import_contracts.OnlyImportsContract"]

[[tool.importlinter.contracts]]
name = "kernels import only numpy"
type = "only_imports"
source_modules = ["fakepkg.*.kernels"]
allowed_modules = ["numpy"]
""", encoding="utf-8")
    kernels = tmp_path / "fakepkg" / "core" / "kernels"
    kernels.mkdir(parents=True)
    for package in (tmp_path / "fakepkg", tmp_path / "fakepkg" / "core", kernels):
        (package / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "fakepkg" / "core" / "wrapper.py").write_text("import pandas\n", encoding="utf-8")
    (kernels / "a_nb.py").write_text(imports, encoding="utf-8")
    (kernels / "b_nb.py").write_text("import numpy\n", encoding="utf-8")
    result = lint_imports(tmp_path, tmp_path, ROOT)
    assert (result.returncode == 0) is kept, result.stdout + result.stderr
    if not kept:
        assert "fakepkg.core.kernels.a_nb -> " in result.stdout


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
