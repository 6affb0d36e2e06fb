"""The error tree: every error defined in ``backgrid.errors``, drawn in its docstring, each a builtin too."""

import builtins
import re

import pytest

from backgrid import engine, errors, testing

# "├── Name (Builtin)" or "└── Name": one line of the tree for each class
TREE_LINE = re.compile(r"[├└]── (\w+)(?: \((\w+)\))?")


def tree() -> dict[str, str | None]:
    return dict(TREE_LINE.findall(errors.__doc__ or ""))


def error_classes() -> dict[str, type[errors.BackgridError]]:
    found = {name: getattr(errors, name) for name in errors.__all__}
    return {name: cls for name, cls in found.items() if isinstance(cls, type) and issubclass(cls, Exception)}


def test_every_error_is_drawn_in_the_tree_with_its_builtin():
    classes = error_classes()
    drawn = tree()
    assert set(drawn) == set(classes) - {"BackgridError"}
    for name, builtin in drawn.items():
        cls = classes[name]
        assert issubclass(cls, errors.BackgridError), name
        if builtin:
            assert issubclass(cls, getattr(builtins, builtin)), f"{name} is drawn as a {builtin}"


@pytest.mark.parametrize("name", ["EngineError", "ConformanceError"])
def test_errors_once_defined_elsewhere_live_in_errors(name):
    cls = getattr(errors, name)
    assert cls.__module__ == "backgrid.errors"
    home = {"EngineError": engine, "ConformanceError": testing}[name]
    assert getattr(home, name) is cls  # still importable where it was public


def test_result_column_error_is_a_key_error_with_a_plain_message():
    error = errors.ResultColumnError("column 'x' is not one column of this result; it has [0, 1]")
    assert isinstance(error, KeyError)
    assert str(error) == "column 'x' is not one column of this result; it has [0, 1]"  # not quoted as a key


def test_validation_error_takes_any_report_that_describes_itself():
    class Report:
        def describe(self, *, only_errors: bool = False) -> str:
            return "row 3: high below low" if only_errors else "everything"

    error = errors.ValidationError(Report())
    assert str(error) == "row 3: high below low"
    assert isinstance(error, ValueError)
