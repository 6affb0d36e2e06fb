"""Paging of lists: ``limit`` and ``offset`` query parameters, and the page they make."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import Query

__all__ = ["Limit", "Offset", "page"]

Limit = Annotated[int, Query(ge=1, le=500, description="Rows per page (at most 500).")]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000, description="Rows to skip.")]


def page(items: Sequence[Any], total: int, limit: int, offset: int) -> dict[str, Any]:
    """A page's body."""
    return {"items": list(items), "total": total, "limit": limit, "offset": offset}
