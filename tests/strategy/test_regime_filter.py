"""``entries.regime``: entries restricted to market regimes, against backgrid.analysis computed independently."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
from typer.testing import CliRunner

from backgrid.analysis import event_regime, hmm_regime, trades_with_regime, trend_regime, volatility_regime
from backgrid.cli.main import app
from backgrid.data.bars import Bars
from backgrid.errors import SpecError
from backgrid.strategy import compile_strategy, dump, load, parse
from backgrid.strategy.document import read_text
from backgrid.strategy.spec import (
    TREND_NAMES,
    VOLATILITY_NAMES,
    EventsParams,
    HmmParams,
    TrendParams,
    VolatilityParams,
    json_schema,
    regime_names,
)
from backgrid.strategy.summary import summary
from backgrid.testing import random_bars

DAY = 86_400 * 10**9


def trend_bars(up: int = 250, down: int = 250, *, seed: int = 1) -> Bars:
    """A steady uptrend then a steady downtrend (0.6 % a day, 1.2 % noise), daily, symbol TEST."""
    rng = np.random.default_rng(seed)
    drift = np.r_[np.full(up, 0.006), np.full(down, -0.006)]
    close = 100 * np.exp(np.cumsum(drift + rng.normal(0, 0.012, up + down)))
    open_ = np.r_[100.0, close[:-1]]
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.004, close.size))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.004, close.size))
    ts = 1_704_067_200 * 10**9 + np.arange(close.size, dtype=np.int64) * DAY
    return Bars("TEST", "1d", ts, open_, high, low, close, np.full(close.size, 1e3), calendar="crypto")


def doc(regime: dict[str, Any] | None = None, *, symbol: str = "TEST", **entries: Any) -> dict[str, Any]:
    """Long when the close is above its SMA(5), out when below; ``regime`` filters the entries."""
    rules = entries or {"long": {">": ["close", "fast"]}}
    return {"schema_version": 3, "name": "regime-test", "market": {"symbols": [symbol], "timeframe": "1d"},
            "indicators": {"fast": {"id": "sma", "params": {"period": 5}}},
            "entries": rules | ({"regime": regime} if regime is not None else {}),
            "exits": {"long": {"<": ["close", "fast"]}}}


def signals(document: dict[str, Any], bars: Bars) -> dict[str, np.ndarray]:
    compiled = compile_strategy(parse(document), bars)
    return {k: np.asarray(v) for k, v in compiled.kwargs.items() if k in ("entries", "exits", "short_entries")}


def problems(document: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as info:
        parse(document)
    return info.value.problems


# --- the mask -----------------------------------------------------------------------------------------------

def test_a_bull_filter_keeps_exactly_the_entries_in_bull_bars() -> None:
    bars = trend_bars()
    plain = signals(doc(), bars)["entries"]
    filtered = signals(doc({"method": "trend", "allowed": ["bull"]}), bars)["entries"]
    regimes = trend_regime(bars)  # the library's defaults, as the document's
    bull = regimes.codes == TREND_NAMES.index("bull")
    np.testing.assert_array_equal(filtered, plain & bull)
    # the test can fail: the uptrend is bull, the downtrend not, and the rule enters in both
    assert bull[:250].mean() > 0.6
    assert not bull[300:].any()
    assert filtered[:250].sum() > 20
    assert plain[300:].sum() > 10
    assert not filtered[300:].any()


def test_min_confidence_blocks_the_less_certain_bars() -> None:
    bars = trend_bars()
    plain = signals(doc(), bars)["entries"]
    loose = signals(doc({"method": "trend", "allowed": ["bull", "range"]}), bars)["entries"]
    strict = signals(doc({"method": "trend", "allowed": ["bull", "range"], "min_confidence": 0.8}), bars)["entries"]
    regimes = trend_regime(bars)
    inside = np.isin(regimes.codes, [0, 2])
    sure = np.nan_to_num(regimes.confidence, nan=-1.0) >= 0.8
    np.testing.assert_array_equal(loose, plain & inside)
    np.testing.assert_array_equal(strict, plain & inside & sure)
    assert (loose & ~sure).sum() > 5  # entries that only the confidence took away


def test_exits_and_the_other_side_keep_their_own_rules() -> None:
    bars = trend_bars()
    both = {"long": {">": ["close", "fast"]}, "short": {"<": ["close", "fast"]}}
    plain = signals(doc(**both), bars)
    filtered = signals(doc({"method": "trend", "allowed": ["bear"]}, **both), bars)
    np.testing.assert_array_equal(filtered["exits"], plain["exits"])
    bear = trend_regime(bars).codes == TREND_NAMES.index("bear")
    for side in ("entries", "short_entries"):  # the filter applies to both directions
        np.testing.assert_array_equal(filtered[side], plain[side] & bear)
    assert filtered["short_entries"].sum() > 10
    assert not filtered["entries"][:200].any()


def test_the_warmup_counts_the_regimes_unknown_bars() -> None:
    bars = trend_bars()
    params = {"sma_period": 30, "slope_bars": 5, "adx_period": 10}
    compiled = compile_strategy(parse(doc({"method": "trend", "allowed": ["bull"], "params": params})), bars)
    known = trend_regime(bars, **params).codes >= 0
    first = int(np.argmax(known))
    assert first == 34
    assert not known[:first].any()
    assert compiled.warmup == first
    assert not np.asarray(compiled.kwargs["entries"])[:first].any()
    assert compile_strategy(parse(doc()), bars).warmup == 4  # the SMA(5) alone


def test_entries_fill_the_next_open_in_the_regime_known_at_the_decision() -> None:
    bars = trend_bars()
    result = compile_strategy(parse(doc({"method": "trend", "allowed": ["bull"]})), bars).run()
    trades = trades_with_regime(result, trend_regime(bars))  # the regime at the close before each fill
    assert len(trades) > 10
    assert (trades["regime"] == "bull").all()


def test_session_and_regime_filters_combine() -> None:
    bars = trend_bars()
    plain = signals(doc(), bars)["entries"]
    both = doc({"method": "trend", "allowed": ["bull"]})
    both["market"]["session"] = {"weekdays": ["mon", "tue", "wed"], "timezone": "UTC"}
    filtered = signals(both, bars)["entries"]
    weekday = (bars.ts // DAY + 3) % 7
    np.testing.assert_array_equal(filtered, plain & (trend_regime(bars).codes == 0) & (weekday <= 2))
    assert filtered.any()


@pytest.mark.parametrize(("regime", "reference"), [
    ({"method": "volatility", "allowed": ["low"], "params": {"lookback": 60, "measure": "realised"}},
     lambda bars: volatility_regime(bars, lookback=60, measure="realised")),
    ({"method": "events", "allowed": ["calm"], "params": {"default": "calm"},
      "windows": {"crash": [["2024-03-01", "2024-04-15"]], "rally": [["2024-06-01T00:00", "2024-06-30"]]}},
     lambda bars: event_regime(bars, {"crash": [("2024-03-01", "2024-04-15")],
                                      "rally": [("2024-06-01T00:00", "2024-06-30")]}, default="calm")),
])
def test_the_other_methods_mask_as_their_functions_label(regime: dict[str, Any], reference: Any) -> None:
    bars = trend_bars()
    plain = signals(doc(), bars)["entries"]
    filtered = signals(doc(regime), bars)["entries"]
    labels = reference(bars)
    code = labels.names.index(regime["allowed"][0])
    np.testing.assert_array_equal(filtered, plain & (labels.codes == code))
    assert filtered.any()
    assert (plain & ~filtered).any()


def test_a_yaml_date_window_covers_its_whole_day(tmp_path: Path) -> None:
    hours = random_bars(24 * 5, timeframe="1h", symbol="TEST", start="2024-01-01")
    path = tmp_path / "s.yaml"
    window = "  regime: {method: events, allowed: [busy], windows: {busy: [[2024-01-02, 2024-01-02]]}}\n"
    text = dump(parse(doc())).replace("timeframe: 1d", "timeframe: 1h").replace("entries:\n", "entries:\n" + window)
    path.write_text(text, encoding="utf-8")
    spec = load(path)  # YAML reads the unquoted dates as dates
    assert spec.entries.regime is not None
    assert spec.entries.regime.method == "events"
    assert spec.entries.regime.windows == {"busy": [("2024-01-02", "2024-01-02")]}
    plain = np.asarray(compile_strategy(parse(doc() | {"market": spec.market.model_dump()}), hours).kwargs["entries"])
    filtered = np.asarray(compile_strategy(spec, hours).kwargs["entries"])
    day = (hours.ts - hours.ts[0]) // DAY
    np.testing.assert_array_equal(filtered, plain & (day == 1))
    assert filtered.sum() > 3


# --- causality ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("regime", [
    {"method": "trend", "allowed": ["bull", "range"], "min_confidence": 0.3},
    {"method": "hmm", "allowed": ["bull"], "params": {"train": 200}, "min_confidence": 0.6},
])
def test_appending_bars_never_changes_past_entries(regime: dict[str, Any]) -> None:
    bars = trend_bars()
    full = signals(doc(regime), bars)["entries"]
    assert full.any()
    for end in (230, 260, 420):
        part = signals(doc(regime), bars.take(slice(0, end)))["entries"]
        np.testing.assert_array_equal(part, full[:end])


def test_an_hmm_filter_masks_as_hmm_regime_labels() -> None:
    bars = trend_bars()
    plain = signals(doc(), bars)["entries"]
    filtered = signals(doc({"method": "hmm", "allowed": ["bull"], "params": {"train": 200}}), bars)["entries"]
    labels = hmm_regime(bars, train=200)
    np.testing.assert_array_equal(filtered, plain & (labels.codes == labels.names.index("bull")))
    assert not filtered[:200].any()
    assert filtered.any()
    assert compile_strategy(parse(doc({"method": "hmm", "allowed": ["bull"], "params": {"train": 200}})),
                            bars).warmup == 200


# --- the document ---------------------------------------------------------------------------------------------

def test_a_bad_label_names_its_path_and_the_labels() -> None:
    (path, message), = problems(doc({"method": "trend", "allowed": ["bul", "range"]}))
    assert path == "entries.regime.allowed[0]"
    assert "did you mean 'bull'" in message
    assert "bull, bear, range" in message
    (path, message), = problems(doc({"method": "hmm", "allowed": ["bull", "range"], "params": {"states": 2}}))
    assert (path, "bear, bull") == ("entries.regime.allowed[1]", message.rsplit("one of ", 1)[1].rstrip(")"))
    (path, message), = problems(doc({"method": "events", "allowed": ["covid", "normal", "calm"],
                                     "windows": {"covid": [["2020-02-20", "2020-04-30"]]}}))
    assert path == "entries.regime.allowed[2]"
    assert "normal, covid" in message


def test_a_long_rule_without_a_direction_keeps_its_regime() -> None:
    spec = parse(doc() | {"entries": {">": ["close", "fast"], "regime": {"method": "trend", "allowed": ["bull"]}}})
    assert spec.entries.long is not None
    assert spec.entries.regime is not None
    assert spec.entries.short is None
    assert problems(doc() | {"entries": {"regime": {"method": "trend", "allowed": ["bull"]}}})[0][0] == "entries"


@pytest.mark.parametrize(("regime", "path", "words"), [
    ({"method": "tren", "allowed": ["bull"]}, "entries.regime", "did you mean 'trend'"),
    ({"allowed": ["bull"]}, "entries.regime", "needs a method, one of trend, volatility, hmm, events"),
    ({"method": "trend", "allowed": ["bull"], "params": {"adx": 14}}, "entries.regime.params",
     "unknown field 'adx'"),
    ({"method": "trend", "allowed": ["bull"], "params": {"adx_period": "$fast"}}, "entries.regime.params",
     "cannot be swept"),
    ({"method": "trend", "allowed": ["bull"], "params": {"adx_period": 14.5}}, "entries.regime.params.adx_period",
     "integer"),
    ({"method": "trend", "allowed": []}, "entries.regime.allowed", "at least 1"),
    ({"method": "trend", "allowed": ["bull"], "min_confidence": 1.2}, "entries.regime.min_confidence", "1"),
    ({"method": "volatility", "allowed": ["low"], "params": {"low": 0.7, "high": 0.5}}, "entries.regime.params",
     "low must be below high"),
    ({"method": "events", "allowed": ["normal"]}, "entries.regime.windows", "missing"),
    ({"method": "events", "allowed": ["normal"], "windows": {"normal": [["2020-01-01", "2020-02-01"]]}},
     "entries.regime", "params.default"),
    ({"method": "events", "allowed": ["x"], "windows": {"x": [["2020-01-01", "soon"]]}},
     "entries.regime.windows.x[0][1]", "expected a date"),
])
def test_malformed_filters_are_refused_at_their_path(regime: dict[str, Any], path: str, words: str) -> None:
    found = problems(doc(regime))
    assert found[0][0] == path, found
    assert words in found[0][1]


def test_an_option_the_method_refuses_is_a_spec_error_at_compile_time() -> None:
    spec = parse(doc({"method": "trend", "allowed": ["bull"], "params": {"sma_period": 100_000}}))
    with pytest.raises(SpecError) as info:
        compile_strategy(spec, trend_bars())
    assert info.value.problems[0][0] == "entries.regime.params"
    assert "sma_period" in info.value.problems[0][1]


def test_round_trip_and_old_fingerprints() -> None:
    spec = parse(doc({"method": "events", "allowed": ["covid"], "min_confidence": 0.5,
                      "windows": {"covid": [["2020-02-20", "2020-04-30T12:00"]]}}))
    for fmt in ("yaml", "json"):
        again = parse(read_text(dump(spec, fmt=fmt)))
        assert again == spec
        assert again.fingerprint() == spec.fingerprint()
    assert parse(doc({"method": "trend", "allowed": ["bull"]})).fingerprint() != parse(doc()).fingerprint()
    # computed by the code before regime filters existed: an unchanged document keeps its identity
    old = {"schema_version": 3, "name": "fingerprint-golden",
           "market": {"symbols": ["DEMO-SPY"], "timeframe": "1d"},
           "indicators": {"fast": {"id": "sma", "params": {"period": 10}}},
           "entries": {"long": {">": ["close", "fast"]}, "short": {"<": ["close", "fast"]}},
           "exits": {"long": {"<": ["close", "fast"]}, "stop_loss": {"percent": 2}}}
    assert parse(old).fingerprint() == "8cd1363d45ad0cc30bb72cfc50cfe0a0e99fd0f5203692881175f8f0e2ea361f"


def test_the_names_and_defaults_are_the_analysis_functions() -> None:
    bars = random_bars(300, timeframe="1d")
    assert trend_regime(bars).names == TREND_NAMES == regime_names("trend", TrendParams())
    assert volatility_regime(bars, lookback=50).names == VOLATILITY_NAMES == regime_names("volatility",
                                                                                      VolatilityParams())
    for states in (2, 3, 4):
        assert hmm_regime(bars, states=states, train=150).names == regime_names("hmm", HmmParams(states=states))
    windows = {"a": [("2024-01-05", "2024-01-06")], "b": [("2024-02-01", "2024-02-03")]}
    assert event_regime(bars, windows, default="calm").names == regime_names("events", EventsParams(default="calm"),
                                                                             windows)
    for function, model in ((trend_regime, TrendParams), (volatility_regime, VolatilityParams),
                            (hmm_regime, HmmParams), (event_regime, EventsParams)):
        options = {name: p.default for name, p in inspect.signature(function).parameters.items()
                   if p.kind is inspect.Parameter.KEYWORD_ONLY}
        assert model().model_dump() == options


def test_the_summary_says_which_regimes() -> None:
    text = summary(parse(doc({"method": "trend", "allowed": ["bull", "range"], "min_confidence": 0.8})))
    assert text.startswith("Go long TEST on 1d when the close is above SMA(5), only in bull or range trend regimes "
                           "(confidence ≥ 0.8); exit when")
    both = doc({"method": "hmm", "allowed": ["bull"]}, long={">": ["close", "fast"]}, short={"<": ["close", "fast"]})
    assert "; go short when the close is below SMA(5); enter only in bull HMM regimes; exit" in summary(parse(both))


def test_the_json_schema_describes_the_filter() -> None:
    schema = json_schema()
    good = doc({"method": "trend", "allowed": ["bull"], "min_confidence": 0.8, "params": {"adx_period": 10}})
    jsonschema.validate(good, schema)
    for bad in ({"method": "trend", "allowed": ["bul"]}, {"method": "trend", "allowed": ["bull"], "extra": 1},
                {"method": "sideways", "allowed": ["bull"]}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(doc(bad), schema)


# --- the command line --------------------------------------------------------------------------------------

def test_validate_and_run_a_document_with_a_regime_filter(tmp_path: Path) -> None:
    path = tmp_path / "regime.yaml"
    document = doc({"method": "trend", "allowed": ["bull"], "min_confidence": 0.2}, symbol="DEMO-SPY")
    path.write_text(dump(parse(document)), encoding="utf-8")
    runner = CliRunner(env={"COLUMNS": "200"})
    checked = runner.invoke(app, ["strategies", "validate", str(path)], catch_exceptions=False)
    assert checked.exit_code == 0, checked.output
    assert "only in bull trend regimes (confidence ≥ 0.2)" in checked.output
    ran = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / "out")], catch_exceptions=False)
    assert ran.exit_code == 0, ran.output
    assert (tmp_path / "out" / "trades.csv").stat().st_size > 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(path.read_text(encoding="utf-8").replace("bull", "bul"), encoding="utf-8")
    refused = runner.invoke(app, ["strategies", "validate", str(bad)])
    assert refused.exit_code == 1
    assert "entries.regime.allowed[0]" in refused.output
