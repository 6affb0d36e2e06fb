"""Which stored bars a strategy reads: ``market.source`` picks among sources of one symbol."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import random_bars

from backgrid.data.store import DataStore
from backgrid.errors import SpecError
from backgrid.strategy import parse
from backgrid.strategy.market import market_data


def _spec(**market: Any) -> Any:
    return parse({"schema_version": 3, "name": "t", "market": {"symbols": ["ACME"], "timeframe": "1h", **market},
                  "indicators": {"fast": {"id": "sma", "params": {"period": 5}}},
                  "entries": {"long": {"crosses_above": ["close", "fast"]}}})


@pytest.fixture
def store(tmp_path: Path) -> DataStore:
    store = DataStore(tmp_path)
    store.write(replace(random_bars(50, timeframe="1h", symbol="ACME", seed=1), source="csv"))
    store.write(replace(random_bars(60, timeframe="1h", symbol="ACME", seed=2), source="vendor"))
    return store


def test_market_source_picks_the_series(store: DataStore) -> None:
    assert len(market_data(_spec(source="csv"), store)["ACME"]) == 50
    assert len(market_data(_spec(source="vendor"), store)["ACME"]) == 60


def test_two_sources_without_market_source_name_the_field_that_picks_one(store: DataStore) -> None:
    with pytest.raises(SpecError, match=r"market\.source.*several sources \(csv, vendor\).*--source"):
        market_data(_spec(), store)


def test_an_unknown_source_says_what_is_stored(store: DataStore) -> None:
    with pytest.raises(SpecError, match=r"market\.source.*from source 'nope'.*csv 1h, vendor 1h"):
        market_data(_spec(source="nope"), store)


def test_a_missing_timeframe_suggests_resampling(store: DataStore) -> None:
    doc = _spec(source="csv", timeframe="4h")
    with pytest.raises(SpecError, match=r"backgrid data resample ACME --from 1h --to 4h --source csv"):
        market_data(doc, store)


def test_market_source_must_not_be_empty() -> None:
    with pytest.raises(SpecError, match=r"market\.source"):
        _spec(source="")
