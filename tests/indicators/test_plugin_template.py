"""The copyable plugin template in examples/ stays working: it loads through the registry and conforms."""

import sys
from pathlib import Path

import numpy as np

from backgrid.indicators.registry import Registry
from backgrid.testing import check_indicator

TEMPLATE = Path(__file__).parents[2] / "examples" / "indicator_plugin"


def test_template_module_conforms_and_computes(monkeypatch):
    monkeypatch.syspath_prepend(str(TEMPLATE / "src"))
    try:
        registry = Registry(families=("my_indicators.range_ratio",), plugins=False)
        spec = registry.get("my_range_ratio")
        check_indicator(spec)
        ratio = spec.fn(np.array([2.0, 3.0, 5.0]), np.array([1.0, 1.0, 1.0]), period=2)["ratio"]
        np.testing.assert_allclose(ratio, [np.nan, 2 / 1.5, 4 / 3])
        assert "my_range_ratio" not in [s.id for s in Registry(plugins=False).list()]
    finally:
        for name in [m for m in sys.modules if m.startswith("my_indicators")]:
            del sys.modules[name]


def test_template_declares_the_entry_point():
    text = (TEMPLATE / "pyproject.toml").read_text(encoding="utf-8")
    assert '[project.entry-points."backgrid.indicators"]' in text
    assert 'my_range_ratio = "my_indicators.range_ratio:range_ratio"' in text
