"""What the forms are rendered from: indicator modules by category, one module's schema, the engine options."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from backgrid.engine.options import json_schema as engine_schema
from backgrid.errors import IndicatorError
from backgrid.indicators.registry import REGISTRY
from backgrid.indicators.spec import CATEGORIES
from backgrid.service.api.errors import ApiError

router = APIRouter(tags=["catalog"])


@router.get("/indicators")
def indicators(category: Annotated[str | None, Query(max_length=40, description="Only this category.")] = None,
               ) -> dict[str, Any]:
    """Every indicator module with its schema (inputs, parameters with bounds, outputs), by category."""
    if category is not None and category not in CATEGORIES:
        raise ApiError(422, "invalid_request", f"no category {category!r}; expected one of {', '.join(CATEGORIES)}",
                       [{"path": "query.category", "message": f"expected one of {', '.join(CATEGORIES)}"}])
    return {"categories": list(CATEGORIES), "indicators": [s.schema() for s in REGISTRY.list(category)]}


@router.get("/indicators/{indicator_id}")
def indicator(indicator_id: str) -> dict[str, Any]:
    """One module's schema and details."""
    try:
        return REGISTRY.get(indicator_id).schema()
    except IndicatorError as exc:
        raise ApiError(404, "not_found", str(exc)) from None


@router.get("/engine/options")
def engine_options() -> dict[str, Any]:
    """The JSON Schema of the engine's options (name, type, unit, bounds, default, help of each)."""
    return engine_schema()
