"""The option table: every engine option declared once, and what is derived from it.

Validation (each bad value named), the frozen config and its round trips, the JSON Schema, the kernels' record,
the strategy format's bounds and the code-strategy whitelist all come from ``backgrid.engine.options.OPTIONS``;
these tests check each derivation against the table and the table against the behaviour it promises.
"""

from __future__ import annotations

import math

import jsonschema
import numpy as np
import pandas as pd
import pytest

from backgrid import backtest
from backgrid.engine import EngineConfig, EngineError, OptionError
from backgrid.engine.options import INPUTS, OPTIONS, check, json_schema
from backgrid.engine.records import COLUMN_PARAMS
from backgrid.engine.run import kernel_params
from backgrid.strategy.code import RETURNABLE
from backgrid.strategy.spec import Strategy
from tests.engine.scenario_kit import make_bars, mask, run

ROWS = [(100, 101, 99, 100)] * 5
SETTINGS = [name for name, o in OPTIONS.items() if o.scope in ("account", "column")]


# --- every input the review found accepted gets a clear error ------------------------------------------------

@pytest.mark.parametrize(("options", "match"), [
    ({"leverage": 0}, r"leverage must be a number \(multiple\) with 0 < x <= 1000, got 0"),
    ({"leverage": -2.0}, r"leverage must be .* got -2.0"),
    ({"leverage": math.nan}, r"leverage must be .* got nan"),  # NaN used to remove the cash check
    ({"leverage": math.inf}, r"leverage must be .* got inf"),
    ({"lot_size": -1}, r"lot_size must be a number \(units\) with 0 <= x, got -1"),
    ({"cash": math.inf}, r"cash must be a number \(cash\) with 0 < x, got inf"),
    ({"cash": 0}, r"cash must be .* got 0"),
    ({"max_positions": True}, r"max_positions must be a whole number \(count\) with 1 <= x, .* got True"),
    ({"max_positions": 2.5}, r"max_positions must be a whole number .* got 2.5"),
    ({"max_bars": 0}, r"max_bars must be a whole number \(bars\) with 1 <= x, or None for no time exit, got 0"),
    ({"stop_loss": 1.0}, r"stop_loss must be a number \(fraction\) with 0 < x < 1, or None for no stop-loss"),
    ({"stop_loss": "2%"}, r"stop_loss must be a number .* got '2%'"),
    ({"partial_fills": 1}, r"partial_fills must be True or False, got 1"),
    ({"fill": "close"}, r"fill must be one of 'next_open', 'same_close', got 'close'"),
    ({"costs": {"commission": 1.0}}, r"commission must be a number \(fraction\) with 0 <= x < 1, got 1.0"),
    ({"costs": {"borrow_rate": -0.01}}, r"borrow_rate must be a number \(fraction per year\) with 0 <= x <= 10"),
    ({"costs": 0.001}, r"costs must be a dict of costs options, got float"),
    ({"costs": {"comission": 0.001}}, r"unknown engine option 'comission'; did you mean 'commission'\?"),
    ({"comission": 0.001}, r"unknown engine option 'comission'; did you mean 'commission'\?"),
    ({"commission": 0.001, "costs": {"commission": 0.002}}, r"commission given both inside costs= and on its own"),
    ({"size": 1.5}, r"size as a fraction of equity must be at most the leverage \(1\), got 1.5"),
    ({"stop_loss": [0.01, 0.02], "take_profit": [0.01, 0.02, 0.03]},
     r"per-column options disagree on the number of columns: stop_loss has 2, take_profit has 3"),
])
def test_a_bad_setting_is_refused_with_the_option_named(options, match):
    with pytest.raises(OptionError, match=match) as caught:
        run(ROWS, entries=[0], **options)
    assert caught.value.option in (*OPTIONS, "costs") or "unknown engine option" in str(caught.value)


def test_an_option_error_is_an_engine_error_and_a_value_error():
    with pytest.raises(ValueError, match="leverage"):
        run(ROWS, entries=[0], leverage=0)
    assert issubclass(OptionError, EngineError)


def test_none_means_not_given_for_an_option_without_a_none():
    assert EngineConfig(size=None, entry_expiry=None).to_dict() == EngineConfig().to_dict()
    assert EngineConfig(stop_loss=None).stop_loss is None  # stop_loss's none is "no stop-loss"


# --- the config ----------------------------------------------------------------------------------------------

def test_the_config_holds_every_setting_with_its_default():
    config = EngineConfig()
    assert list(config) == SETTINGS
    assert all(config[name] == OPTIONS[name].default for name in SETTINGS)


def test_the_config_round_trips_through_json_and_yaml():
    config = EngineConfig(commission=0.001, stop_loss=[0.02, None, 0.05], size_type="risk", size=0.01,
                          max_positions=3, fill="same_close", partial_fills=True)
    assert EngineConfig.from_json(config.to_json()) == config
    assert EngineConfig.from_yaml(config.to_yaml()) == config
    assert EngineConfig.from_dict(config.to_dict()) == config
    assert config.stop_loss == (0.02, None, 0.05)
    assert config.columns == 3


def test_the_config_survives_pickle_and_copy():
    import copy
    import pickle

    config = EngineConfig(commission=0.001, stop_loss=[0.02, None])
    assert pickle.loads(pickle.dumps(config)) == config  # noqa: S301  # our own bytes; workers get configs so
    assert copy.deepcopy(config) == config
    assert copy.copy(config) == config


def test_the_config_is_frozen_and_refuses_unknown_fields():
    config = EngineConfig()
    with pytest.raises(EngineError, match=r"EngineConfig is frozen; use config\.replace"):
        config.commission = 0.1
    with pytest.raises(OptionError, match="unknown engine option 'stop_los'; did you mean 'stop_loss'"):
        EngineConfig(stop_los=0.02)
    with pytest.raises(OptionError, match="unknown engine option 'entries'"):
        EngineConfig(entries=[True])  # a signal is an input of the run, not a setting
    with pytest.raises(EngineError, match="could not be read"):
        EngineConfig.from_json("{commission: 1}")


def test_the_fingerprint_is_the_identity_of_the_settings_that_change_results():
    a = EngineConfig(commission=0.001)
    assert EngineConfig(commission=0.001).fingerprint == a.fingerprint
    assert EngineConfig(commission=0.002).fingerprint != a.fingerprint
    assert EngineConfig(commission=0.001, keep_equity=False).fingerprint == a.fingerprint  # output only
    assert len(a.fingerprint) == 64
    assert a.replace(commission=0.002) == EngineConfig(commission=0.002)


def test_a_config_passed_to_backtest_equals_the_same_keywords():
    data = make_bars([(100 + i, 102 + i, 99 + i, 101 + i) for i in range(8)])
    signals = {"entries": mask(8, [0, 4]), "exits": mask(8, [2])}
    config = EngineConfig(commission=0.001, stop_loss=0.01, size=0.5)
    by_config = backtest(data, config, **signals)
    by_keywords = backtest(data, costs={"commission": 0.001}, stop_loss=0.01, size=0.5, **signals)
    assert by_config.config == by_keywords.config == config
    pd.testing.assert_frame_equal(by_config.trades, by_keywords.trades)
    changed = backtest(data, config, size=0.25, **signals)  # keywords change a copy of the config
    assert changed.config == config.replace(size=0.25)
    assert changed.trades["size"].iloc[0] == pytest.approx(by_config.trades["size"].iloc[0] / 2)


# --- what is derived from the table ---------------------------------------------------------------------------

def test_the_kernel_record_has_one_field_per_recorded_option():
    recorded = [name for name, o in OPTIONS.items() if o.record]
    assert list(COLUMN_PARAMS.names) == [*recorded, "slippage_abs"]
    params = kernel_params(EngineConfig(stop_loss=[0.02, None], size_type="risk", size=0.01, max_bars=None,
                                        slippage_ticks=2, tick_size=0.05), 2)
    assert params["stop_loss"][0] == 0.02
    assert np.isnan(params["stop_loss"][1])  # none
    assert params["max_bars"].tolist() == [0, 0]  # the kernel's "never"
    assert params["size_type"].tolist() == [OPTIONS["size_type"].code("risk")] * 2
    assert params["slippage_abs"].tolist() == pytest.approx([0.1, 0.1])


def test_choice_codes_are_the_enums_values():
    from backgrid.engine.enums import EntryType, Fill, SizeType, StopPolicy

    for name, enum in (("size_type", SizeType), ("entry_type", EntryType), ("fill", Fill),
                       ("stop_policy", StopPolicy)):
        assert {OPTIONS[name].code(c): c for c in OPTIONS[name].choices} == {m.value: m.name.lower() for m in enum}


def test_the_json_schema_accepts_what_the_config_accepts_and_refuses_what_it_refuses():
    schema = json_schema()
    assert list(schema["properties"]) == SETTINGS
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    good = EngineConfig(commission=0.001, stop_loss=[0.02, None], max_positions=2).to_dict()
    assert not list(validator.iter_errors(good))
    for name in SETTINGS:
        option = OPTIONS[name]
        for bad in _out_of_bounds(option):
            with pytest.raises(OptionError):
                check(name, bad)
            assert list(validator.iter_errors({name: bad})), (name, bad)
        assert schema["properties"][name]["x-unit"] == option.unit
    assert list(validator.iter_errors({"stop_los": 0.1}))


def _out_of_bounds(option):
    if option.kind == "choice":
        return ["nope"]
    if option.kind == "bool":
        return ["yes"]
    values = []
    if option.low > -math.inf:
        values.append(option.low if not option.low_closed else option.low - 1)
    if option.high < math.inf:
        values.append(option.high if not option.high_closed else option.high + 1)
    if option.kind == "int":
        values.append(2.5)
    return values


def test_every_document_path_is_a_field_of_the_strategy_format_with_the_engine_bounds():
    schema = Strategy.model_json_schema(by_alias=True)
    for name, option in OPTIONS.items():
        if not option.document:
            continue
        *sections, field = option.document.split(".")
        model = Strategy
        for section in sections:
            model = model.model_fields[section].annotation
            model = next(a for a in getattr(model, "__args__", (model,)) if a is not type(None))
        assert field in model.model_fields, option.document
        if field == "percent":  # a stop's percent: bounded per use by strategy.bounds (one Stop model)
            continue
        properties = schema["$defs"][model.__name__]["properties"] if model is not Strategy else schema["properties"]
        prop = properties[field]
        if option.kind == "choice":
            assert tuple(prop["enum"]) == option.choices, name
            continue
        if option.kind == "bool":
            assert (prop["type"], prop["default"]) == ("boolean", option.default), name
            continue
        numbers = next(p for p in prop.get("anyOf", [prop]) if p.get("type") in ("number", "integer"))
        scale = option.document_scale
        if option.low > -math.inf:
            key = "minimum" if option.low_closed else "exclusiveMinimum"
            assert numbers[key] == option.low * scale, (name, numbers)
        if option.high < math.inf:
            key = "maximum" if option.high_closed else "exclusiveMaximum"
            assert numbers[key] == option.high * scale, (name, numbers)


def test_a_code_strategy_may_return_exactly_the_inputs_and_per_column_options():
    assert RETURNABLE == INPUTS == {name for name, o in OPTIONS.items() if o.scope != "account"}
    assert "cash" not in RETURNABLE
    assert {"entries", "trailing_stop_distance", "stop_loss", "drawdown_limit"} <= RETURNABLE


# --- a run that cannot trade says why ------------------------------------------------------------------------

def test_signals_that_miss_every_bar_are_a_warning():
    data = make_bars(ROWS)
    shifted = pd.Series(mask(5, [1]), index=data.index + pd.Timedelta(hours=5))  # another time zone's midnight
    r = backtest(data, entries=shifted)
    assert r.records.size == 0
    assert r.warnings == [(f"entries: none of its 1 True values falls on a bar of the data (the first is at "
                          f"{shifted.index[1]}, the first bar at {data.index[0]}); check the time zone and the "
                          f"bar times")]


def test_no_entry_signal_is_a_warning():
    assert run(ROWS).warnings == ["no entry signal fired: entries and short_entries are False on every bar"]


def test_every_order_sized_to_nothing_is_a_warning():
    r = run(ROWS, entries=[0, 2], lot_size=1_000)  # 10,000 cash buys 100 units: 0 lots of 1,000
    assert r.records.size == 0
    assert r.warnings == [("every entry order (2) was sized to nothing: the size rounds to zero units (lot_size "
                          "larger than what size buys, risk sizing without a stop distance, or no volatility)")]


def test_a_run_that_trades_has_no_warning():
    assert run(ROWS, entries=[0]).warnings == []


def test_statistics_on_a_guessed_intraday_calendar_say_so():
    # hourly bars inside New York's session, on weekdays: inferred us-equity, so 252 x 7 bars a year
    days = pd.bdate_range("2024-03-04", periods=10, tz="America/New_York")
    times = [d + pd.Timedelta(hours=h, minutes=30) for d in days for h in range(9, 16)]
    index = pd.DatetimeIndex(times).tz_convert("UTC")
    frame = pd.DataFrame({"open": 100.0, "high": 101.0, "low": 99.0, "close": 100.0}, index=index)
    r = backtest(frame, entries=np.r_[True, np.zeros(len(frame) - 1, dtype=bool)])
    assert len(r.warnings) == 1
    assert r.warnings[0].startswith("annualised metrics (volatility, Sharpe, ...) assume the us-equity calendar, "
                                    "inferred from the data")
    told = backtest(frame, entries=np.r_[True, np.zeros(len(frame) - 1, dtype=bool)], periods_per_year=1764)
    assert told.warnings == []
