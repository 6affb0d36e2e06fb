"""A sweep's rules evaluated for all parameter sets at once equal the one-set evaluator's, column by column,
for every kind of rule (comparisons with numbers, parameters and look-backs, crosses both ways, between,
rising, ago/within, all/any/not nested), and a compiled sweep equals its sets compiled one by one."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from backgrid.strategy.compiler import compile_strategy
from backgrid.strategy.evaluate import Evaluator, IndicatorCache
from backgrid.strategy.kernels.rules_nb import BLOCK
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
    "a number first": {">": [50, "rsi"]},
    "a parameter first, a look-back": {"<=": ["$level", "rsi[1]"]},
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


def test_columns_across_the_kernels_row_blocks() -> None:
    # the kernels write blocks of rules_nb.BLOCK rows for every column: warm-ups ending inside the first block,
    # on a block's last bar and inside a later block, and crosses carried over block boundaries
    bars = random_bars(3 * BLOCK + 100, seed=5)
    strategy = Strategy.model_validate({
        "schema_version": 3, "name": "blocks", "market": {"symbols": [bars.symbol], "timeframe": "1h"},
        "parameters": [{"param": "fast", "default": 5, "min": 2, "max": 50},
                       {"param": "slow", "default": 21, "min": 5, "max": 5000}],
        "indicators": {"fast_ma": {"id": "sma", "params": {"period": "$fast"}},
                       "slow_ma": {"id": "sma", "params": {"period": "$slow"}}},
        "entries": {"long": {"crosses_above": ["fast_ma", "slow_ma"]}},
        "exits": {"long": {"crosses_below": ["fast_ma", "slow_ma"]}}})
    sets = [{"fast": f, "slow": s} for f in (3, 8) for s in (10, BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK + 37)]
    cache = IndicatorCache(bars)
    evaluators = [Evaluator(strategy, cache, values) for values in sets]
    rules = [strategy.entries.long, strategy.exits.long, Strategy.model_validate(
        strategy.model_dump(exclude_none=True) | {"entries": {"long": {"<": ["fast_ma[1]", "slow_ma"]}}},
    ).entries.long]
    for rule, (held, warm) in zip(rules, rule_columns(evaluators, rules), strict=True):
        for j, ev in enumerate(evaluators):
            alone, alone_warm = ev.rule(rule)
            assert np.array_equal(held[:, j], alone), (rule, sets[j])
            assert warm[j] == alone_warm
        assert held[2 * BLOCK:].any()  # the later blocks are written, not left as they were allocated


def test_a_cross_on_the_first_bar_of_a_row_block() -> None:
    # close - open is -1 on every bar but bar BLOCK (+1): the cross above is on the first bar of the second
    # block, decided by the last bar of the first; the cross back below is on the bar after
    from tests.engine.scenario_kit import make_bars

    rows = [(11, 12, 9, 10)] * (BLOCK + 2)
    rows[BLOCK] = (10, 12, 9, 11)
    bars = make_bars(rows)
    strategy = Strategy.model_validate({
        "schema_version": 3, "name": "edge", "market": {"symbols": [bars.symbol], "timeframe": str(bars.timeframe)},
        "entries": {"long": {"crosses_above": ["close", "open"]}},
        "exits": {"long": {"crosses_below": ["close", "open"]}}})
    cache = IndicatorCache(bars)
    (up, _), (down, _) = rule_columns([Evaluator(strategy, cache, {})] * 2,
                                      [strategy.entries.long, strategy.exits.long])
    for j in range(2):
        assert np.flatnonzero(up[:, j]).tolist() == [BLOCK]
        assert np.flatnonzero(down[:, j]).tolist() == [BLOCK + 1]
