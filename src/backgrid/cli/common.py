"""Shared pieces of the CLI: the console, error handling and table helpers."""

from __future__ import annotations

import functools
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from backgrid.errors import BackgridError

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console

F = TypeVar("F", bound="Callable[..., Any]")


@cache
def console() -> Console:
    """The console that commands print to."""
    from rich.console import Console  # noqa: PLC0415  # keep `backgrid --help` fast

    return Console(highlight=False)


@cache
def error_console() -> Console:
    """The console for error messages (standard error)."""
    from rich.console import Console  # noqa: PLC0415

    return Console(stderr=True, highlight=False)


def command(fn: F) -> F:
    """Wrap a command so a :class:`~backgrid.errors.BackgridError` prints a clear message and exits with 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except BackgridError as exc:
            error_console().print(f"[bold red]error:[/] {exc}", markup=True, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]
