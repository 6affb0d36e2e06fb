"""Every registered module: conformance, causality, TA-Lib agreement; the registry and compute API."""

import json
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from backgrid import indicators
from backgrid.errors import IndicatorError
from backgrid.indicators.registry import REGISTRY, Registry
from backgrid.indicators.spec import CATEGORIES
from backgrid.testing import ConformanceError, check_indicator, random_bars
from tests.indicators.conftest import DATASETS, assert_matches, talib_outputs

SPECS = indicators.list()
TALIB_SPECS = [s for s in SPECS if s.talib is not None]


def test_library_covers_every_category_with_at_least_66_modules():
    assert len(SPECS) >= 66, f"only {len(SPECS)} modules registered"
    assert {s.category for s in SPECS} == set(CATEGORIES)
    assert {s.tier for s in SPECS} == {"beginner", "intermediate", "advanced"}


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
def test_module_conforms_on_random_and_goog(spec):
    check_indicator(spec)
    check_indicator(spec, bars=DATASETS["goog"](), cuts=(5, 100, 1000, 2000))


@pytest.mark.parametrize("spec", TALIB_SPECS, ids=lambda s: s.id)
@pytest.mark.parametrize("data", sorted(DATASETS))
def test_module_matches_talib_including_warmup(spec, data):
    bars = DATASETS[data]()
    params = spec.resolve({})
    ours = indicators.compute_arrays(spec.id, {c: bars.column(c) for c in bars.columns} | {"ts": bars.ts,
                                     "calendar": bars.calendar}, **params)
    for name, theirs in talib_outputs(spec, bars, params).items():
        assert_matches(ours[name], theirs, f"{spec.id}.{name} on {data}")
    assert spec.warmup_bars() == int(np.isnan(ours[spec.outputs[0].name]).sum()) or spec.outputs[0].sparse


def test_registry_json_and_lookup():
    payload = json.loads(indicators.to_json())
    assert payload["categories"] == list(CATEGORIES)
    ids = [s["id"] for s in payload["indicators"]]
    assert len(ids) == len(set(ids)) == len(SPECS)
    assert indicators.get("rsi").schema()["params"][0]["min"] == 2
    with pytest.raises(IndicatorError, match="unknown indicator 'rsl'; did you mean rsi"):
        indicators.get("rsl")
    with pytest.raises(IndicatorError, match="unknown category"):
        indicators.list("magic")


def test_bad_parameters_name_the_parameter_and_its_range():
    bars = random_bars(100)
    with pytest.raises(IndicatorError, match=r"rsi: parameter 'period' must be an integer in \[2, 1000\], got 1"):
        indicators.compute("rsi", bars, period=1)
    with pytest.raises(IndicatorError, match=r"unknown parameter\(s\) periods; it takes period"):
        indicators.compute("rsi", bars, periods=3)
    with pytest.raises(IndicatorError, match=r"got 2\.5"):
        indicators.compute("sma", bars, period=2.5)


def test_sweep_equals_single_runs_and_2d_inputs_equal_columns():
    bars = random_bars(500)
    swept = indicators.compute("sma", bars, period=range(5, 51))
    assert swept.shape == (500, 46)
    for period in (5, 27, 50):
        single = indicators.compute("sma", bars, period=period)["sma"]
        np.testing.assert_array_equal(swept[("sma", period)].to_numpy(), single.to_numpy())
    closes = np.column_stack([random_bars(300, seed=s).close for s in range(4)])
    two_d = indicators.compute_arrays("ema", {"close": closes}, period=10)["ema"]
    for j in range(4):
        np.testing.assert_array_equal(two_d[:, j], indicators.compute_arrays("ema", {"close": closes[:, j]},
                                                                              period=10)["ema"])


def test_compute_accepts_frames_series_and_arrays():
    bars = random_bars(200)
    frame = bars.to_pandas()
    by_bars = indicators.compute("rsi", bars)
    pd.testing.assert_frame_equal(indicators.compute("rsi", frame), by_bars)
    np.testing.assert_array_equal(indicators.compute("rsi", frame["close"])["rsi"].to_numpy(), by_bars["rsi"])
    np.testing.assert_array_equal(indicators.compute("rsi", bars.close)["rsi"].to_numpy(), by_bars["rsi"])


def test_conformance_catches_a_peeking_module():
    @indicators.indicator("peek", name="Peek", category="statistics", description="Uses tomorrow's close.",
                          tier="beginner", inputs=("close",), outputs=(indicators.Output("peek", "price"),),
                          warmup=lambda: 0)
    def peek(close):
        return {"peek": np.r_[close[1:], np.nan]}

    with pytest.raises(ConformanceError, match="not causal") as info:
        check_indicator(peek)
    assert "has no value at bar 999" in str(info.value)


def test_badly_declared_module_is_refused_with_reasons():
    with pytest.raises(IndicatorError, match="category 'magic' must be one of") as info:
        indicators.indicator("Bad-Id", name="x", category="magic", description="x", tier="beginner",
                             inputs=("close",), outputs=(indicators.Output("x", "oscillator"),),
                             warmup=lambda: 0)(lambda close: {"x": close})
    assert "snake_case" in str(info.value)
    assert "needs its range" in str(info.value)


def test_plugins_load_from_the_entry_point_group(tmp_path, monkeypatch):
    (tmp_path / "myplugin.py").write_text(textwrap.dedent("""
        from backgrid.indicators import Output, indicator

        @indicator("my_double", name="Double close", category="statistics", description="Twice the close.",
                   tier="beginner", inputs=("close",), outputs=(Output("my_double", "price"),), warmup=lambda: 0)
        def my_double(close):
            return {"my_double": close * 2}
    """), encoding="utf-8")
    dist = tmp_path / "myplugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: myplugin\nVersion: 0.1\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text("[backgrid.indicators]\nmy_double = myplugin:my_double\n",
                                           encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry(families=())
    assert [s.id for s in registry.list()] == ["my_double"]
    check_indicator(registry.get("my_double"))
    sys.modules.pop("myplugin", None)
    assert "my_double" not in REGISTRY
