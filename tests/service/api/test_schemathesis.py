"""Property tests of the whole API against its own OpenAPI schema (schemathesis, in-process over ASGI).

Every operation is called with generated requests, valid and not, as a real logged-in user; the answers
must never be 500s, must use only the statuses and content types the schema declares, and must match the
declared bodies. The examples are kept few so that the run stays well under a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backgrid.service.app import create_app
from backgrid.service.settings import Limits
from backgrid.strategy.document import read_text
from backgrid.strategy.library import library_path
from tests.service.api.conftest import login, settings_for

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
#: examples per operation and generation mode (valid requests, then invalid ones)
EXAMPLES = 5
# generous limits: the examples must reach the routes, not the rate limiter (429s are tested in test_auth)
_LIMITS = Limits(requests_per_minute=100_000, runs_per_hour=100_000, concurrent_runs=100_000)


@dataclass
class Api:
    """The schema of a live app, a user's headers and the ids of that user's strategy and finished run."""

    schema: Any
    headers: dict[str, str]
    ids: dict[str, str]


@pytest.fixture(scope="module")
def api(tmp_path_factory, publish) -> Iterator[Api]:
    app = create_app(settings_for(tmp_path_factory.mktemp("schemathesis"), tiers={"free": _LIMITS}))
    with TestClient(app) as client:
        headers = login(client, "fuzz@example.com")
        document = read_text(library_path("sma-cross").read_text())
        strategy = client.post("/api/v1/strategies", json={"document": document}, headers=headers).json()["id"]
        run_id = client.post("/api/v1/runs", json={"strategy_id": strategy}, headers=headers).json()["id"]
        publish(client, run_id)
        ids = {"strategy_id": strategy, "run_id": run_id, "number": 1, "name": "result.npz"}
        yield Api(schemathesis.openapi.from_asgi("/openapi.json", app), headers, ids)


def _calls(api: Api, mode: str) -> Iterator[tuple[str, Any]]:
    """Each operation's label and strategy; ``owned``: the reads with the user's real ids in their path."""
    for found in api.schema.get_all_operations():
        operation = found.ok()
        names = {p.name for p in operation.path_parameters}
        if mode != "owned":
            yield operation.label, operation.as_strategy(generation_mode=schemathesis.GenerationMode(mode))
        elif operation.method.upper() == "GET" and names and names <= set(api.ids):
            yield operation.label, operation.as_strategy(path_parameters={n: api.ids[n] for n in names})




@pytest.mark.parametrize("mode", ["positive", "negative", "owned"])
def test_the_api_keeps_its_schema(api: Api, mode: str) -> None:
    failures: dict[str, str] = {}
    calls = list(_calls(api, mode))
    assert len(calls) >= (10 if mode == "owned" else 40)  # the reads of a run and a strategy; every operation
    for label, strategy in calls:

        @given(case=strategy)
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: Any) -> None:
            case.call_and_validate(headers=api.headers, checks=CHECKS)

        try:
            check()
        except Unsatisfiable:  # an operation that takes nothing cannot be called wrongly
            assert mode == "negative"
        except (AssertionError, BaseExceptionGroup) as exc:  # schemathesis' failures: all reported together below
            failures[label] = f"{type(exc).__name__}: {exc}"[:3000]
    assert not failures, "\n\n".join(f"{k}\n{v}" for k, v in failures.items())
