"""A sweep's rules evaluated for all parameter sets at once equal the one-set evaluator's, column by column,
for every kind of rule (comparisons with numbers, parameters and look-backs, crosses both ways, between,
rising, ago/within, all/any/not nested), and a compiled sweep equals its sets compiled one by one."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from backgrid.strategy.compiler import compile_strategy
from backgrid.strategy.evaluate import Evaluator, IndicatorCache
from backgrid.strategy.spec import Strategy
from backgrid.strategy.sweep import rule_columns
from backgrid.testing.synthetic import random_bars

BARS = random_bars(600, seed=11)
SETS = [{"fast": f, "slow": s, "level": lv} for f in (3, 5, 8) for s in (10, 21) for lv in (40.0, 55.0)]


def document(entry: dict[str, Any], exit_: dict[str, Any] | None = None) -> Strategy:
    return Strategy.model_validate({
        "schema_version": 3, "name": "rules", "market": {"symbols": [BARS.symbol], "timeframe": "1h"},
        "parameters": [{"param": "fast", "default": 5, "min": 2, "max": 50},
                       {"param": "slow", "default": 21, "min": 5, "max": 200},
                       {"param": "level", "default": 50.0, "min": 0.0, "max": 100.0}],
        "indicators": {"fast_ma": {"id": "sma", "params": {"period": "$fast"}},
                       "slow_ma": {"id": "ema", "params": {"period": "$slow"}},
                       "rsi": {"id": "rsi", "params": {"period": "$fast"}}},
        "entries": {"long": entry}, "exits": {"long": exit_ or {"crosses_below": ["fast_ma", "slow_ma"]}}})


RULES = {
    "cross above": {"crosses_above": ["fast_ma", "slow_ma"]},
    "cross below a number": {"crosses_below": ["rsi", 50]},
    "cross a parameter, looking back": {"crosses_above": ["rsi[2]", "$level"]},
    "compare": {">": ["close", "slow_ma"]},
    "compare a look-back": {"<=": ["fast_ma[3]", "slow_ma[1]"]},
    "equal": {"==": ["rsi", 100]},
    "numbers only": {"<": [1, 2]},
    "between": {"between": ["rsi", "$level", 70]},
    "rising": {"rising": ["fast_ma", 3]},
    "within": {"within": {"bars": 4, "rule": {"crosses_above": ["close", "fast_ma"]}}},
    "ago": {"ago": {"bars": 2, "rule": {">": ["rsi", "$level"]}}},
    "all, any, not": {"all": [{"any": [{">": ["rsi", "$level"]}, {"crosses_above": ["fast_ma", "slow_ma"]}]},
                              {"not": {"<": ["close", "slow_ma[2]"]}}]},
}


@pytest.mark.parametrize("name", list(RULES))
def test_each_column_equals_the_one_set_evaluator(name: str) -> None:
    strategy = document(RULES[name])
    cache = IndicatorCache(BARS)
    evaluators = [Evaluator(strategy, cache, values) for values in SETS]
    rule = strategy.entries.long
    [(held, warm)] = rule_columns(evaluators, [rule])
    assert held.flags.f_contiguous
    assert held.shape == (len(BARS), len(SETS))
    fired = 0
    for j, ev in enumerate(evaluators):
        alone, alone_warm = ev.rule(rule)
        assert np.array_equal(held[:, j], alone), (name, SETS[j])
        assert warm[j] == alone_warm
        fired += int(alone.sum())
    if name not in {"equal", "numbers only"}:
        assert fired > 0  # the rule fires somewhere: the comparison is not between two empty columns


def test_a_compiled_sweep_equals_its_sets_compiled_one_by_one() -> None:
    strategy = document(RULES["all, any, not"], RULES["cross below a number"])
    swept = compile_strategy(strategy, BARS, sets=SETS)
    for j, values in enumerate(SETS):
        alone = compile_strategy(strategy, BARS, sets=[values])
        for key in ("entries", "exits"):
            assert np.array_equal(np.asarray(swept.kwargs[key])[:, j], np.asarray(alone.kwargs[key]).ravel()), key
    assert swept.warmup == max(compile_strategy(strategy, BARS, sets=[v]).warmup for v in SETS)
    result = swept.run()
    for j, values in enumerate(SETS[:3]):
        alone = compile_strategy(strategy, BARS, sets=[values]).run()
        assert result.summary[j].tolist() == alone.summary[0].tolist()


def test_a_cross_from_equal_values_fires_and_one_staying_equal_does_not() -> None:
    from tests.engine.scenario_kit import make_bars  # the engine tests' hand-made bars

    bars = make_bars([(10, 11, 9, 10), (10, 11, 9, 10), (10, 12, 9, 11), (11, 12, 9, 11), (11, 12, 9, 10)])
    strategy = Strategy.model_validate({
        "schema_version": 3, "name": "eq", "market": {"symbols": [bars.symbol], "timeframe": str(bars.timeframe)},
        "entries": {"long": {"crosses_above": ["close", "open"]}},
        "exits": {"long": {"crosses_below": ["close", "open"]}}})
    cache = IndicatorCache(bars)
    evaluators = [Evaluator(strategy, cache, {}), Evaluator(strategy, cache, {})]
    (up, _), (down, _) = rule_columns(evaluators, [strategy.entries.long, strategy.exits.long])  # one pass
    # close - open: 0, 0, +1, 0, -1: above after equal at bar 2; below after equal at bar 4
    assert up[:, 0].tolist() == [False, False, True, False, False]
    assert down[:, 1].tolist() == [False, False, False, False, True]


TOGETHER = {
    "both ways, two arrays": [{"crosses_above": ["fast_ma", "slow_ma"]}, {"crosses_below": ["fast_ma", "slow_ma"]}],
    "both ways, a look-back and a parameter": [{"crosses_above": ["rsi[2]", "$level"]},
                                               {"crosses_below": ["rsi[2]", "$level"]}],
    # the same cross three times (crossing below slow_ma is fast_ma crossing above it), and its opposite once,
    # inside combinations that write over their first child's matrix
    "one cross used again": [{"any": [{"crosses_above": ["fast_ma", "slow_ma"]}, {"<": [1, 2]}]},
                             {"not": {"crosses_below": ["slow_ma", "fast_ma"]}},
                             {"crosses_above": ["slow_ma", "fast_ma"]},
                             {"crosses_above": ["fast_ma", "slow_ma"]}],
}


@pytest.mark.parametrize("name", list(TOGETHER))
def test_rules_evaluated_together_equal_each_alone(name: str) -> None:
    # a cross wanted both ways is written in one pass; each result must still be its own rule's, unshared
    strategy = document(TOGETHER[name][0])
    rules = [document(r).entries.long for r in TOGETHER[name]]
    cache = IndicatorCache(BARS)
    evaluators = [Evaluator(strategy, cache, values) for values in SETS]
    results = rule_columns(evaluators, rules)
    assert len({id(held) for held, _ in results}) == len(rules)
    for rule, (held, warm) in zip(rules, results, strict=True):
        assert held.flags.f_contiguous
        for j, ev in enumerate(evaluators):
            alone, alone_warm = ev.rule(rule)
            assert np.array_equal(held[:, j], alone), (name, rule, SETS[j])
            assert warm[j] == alone_warm
        assert held.any()
