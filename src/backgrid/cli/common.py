"""Shared pieces of the CLI: the consoles, error handling, progress and the help's option names.

Everything printed goes through :func:`console` or :func:`error_console`, which read no markup and no
emoji codes: a check name ``[unsorted]``, a pattern ``'^[A-Z]*$'`` or a file ``missing[daily].csv``
prints as written. Styled words are :func:`styled` pieces, never markup in a string.
"""

from __future__ import annotations

import functools
import inspect
import json
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from backgrid.errors import BackgridError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from rich.console import Console
    from rich.text import Text
    from typer._click import Context, Parameter  # typer vendors click; its commands take these

F = TypeVar("F", bound="Callable[..., Any]")


def _console(*, stderr: bool) -> Console:
    from rich.console import Console  # noqa: PLC0415  # keep `backgrid --help` fast

    # Made per command, not cached: a cached console keeps the width and the stream of its first use.
    screen = Console(stderr=stderr, markup=False, emoji=False, highlight=False)
    screen.soft_wrap = not screen.is_terminal  # a pipe or a file gets whole lines, not lines cut at 80
    return screen


def console() -> Console:
    """The console that commands print results to (standard output)."""
    return _console(stderr=False)


def error_console() -> Console:
    """The console for errors, refusals, warnings and progress (standard error)."""
    return _console(stderr=True)


def styled(*parts: str | Text | tuple[str, str]) -> Text:
    """Text from literal pieces, each plain, ``Text`` or ``(text, style)``: ``styled(("error:", "red"), " ", msg)``."""
    from rich.text import Text  # noqa: PLC0415

    return Text.assemble(*parts)


def write_json(value: Any) -> None:
    """Write ``value`` to standard output as indented JSON, byte for byte (no console in between)."""
    sys.stdout.write(json.dumps(value, indent=2) + "\n")


@contextmanager
def progress(first: str) -> Iterator[Callable[[str], None]]:
    """Show progress on standard error; yield the function that reports the next step.

    A terminal gets a spinner; a pipe or a log file gets one line a step.
    """
    screen = error_console()
    if screen.is_terminal:
        with screen.status(first) as status:
            yield status.update
        return
    screen.print(first)
    yield screen.print


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """Show a bar with the count and the time left on standard error; yield ``update(done, total)``.

    A terminal gets a bar that disappears when done; a pipe or a log file gets one line an update.
    """
    screen = error_console()
    if not screen.is_terminal:
        def line(done: int, total: int) -> None:
            screen.print(f"{description}: {done:,} of {total:,}")

        yield line
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn  # noqa: PLC0415

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=screen, transient=True) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def command(fn: F) -> F:
    """Wrap a command so a :class:`~backgrid.errors.BackgridError` prints a clear message and exits with 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except BackgridError as exc:
            error_console().print(styled(("error:", "bold red"), " ", str(exc)), soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def with_options(*templates: Callable[..., None]) -> Callable[[F], F]:
    """Give a command the options that ``templates`` declare (functions that are only a signature).

    One declaration serves every command that takes the options: the command takes them as ``**options``,
    and its help lists them after its arguments and required options, before its own options with defaults.
    """
    def decorate(fn: F) -> F:
        own = [p for p in inspect.signature(fn, eval_str=True).parameters.values() if p.kind is not p.VAR_KEYWORD]
        shared = [p for template in templates for p in inspect.signature(template, eval_str=True).parameters.values()]
        at = next((k for k, p in enumerate(own) if p.default is not p.empty), len(own))
        merged = [p.replace(kind=p.KEYWORD_ONLY) for p in (*own[:at], *shared, *own[at:])]  # typer passes keywords
        fn.__signature__ = inspect.Signature(merged, return_annotation=None)  # type: ignore[attr-defined]  # read by typer
        fn.__annotations__ = {p.name: p.annotation for p in merged} | {"return": None}
        return fn

    return decorate


def options_of(template: Callable[..., None], options: Mapping[str, Any]) -> dict[str, Any]:
    """The values of the options ``template`` declares, among a command's ``options``."""
    return {name: options[name] for name in inspect.signature(template).parameters}


def _name_values(params: list[Parameter]) -> list[Parameter]:
    """Show ``--symbol SYMBOL`` in the help, and a flag bare: never Python types like ``<list[str]>``."""
    for param in params:
        if isinstance(param, TyperOption) and (param.is_flag or param.count):
            param.metavar = ""
        elif isinstance(param, (TyperOption, TyperArgument)) and param.metavar is None and param.name:
            param.metavar = param.name.rstrip("_").upper()
        if isinstance(param, TyperArgument):  # its name is the metavar; the type column would repeat a type
            param.display_type_rich = lambda ctx: None  # type: ignore[method-assign]  # noqa: ARG005
    return params


class Command(TyperCommand):
    """A command whose help names values instead of showing types."""

    def get_params(self, ctx: Context) -> list[Parameter]:
        return _name_values(super().get_params(ctx))


class Group(TyperGroup):
    """A command group whose help names values instead of showing types."""

    def get_params(self, ctx: Context) -> list[Parameter]:
        return _name_values(super().get_params(ctx))


class App(typer.Typer):
    """A :class:`typer.Typer` whose groups and commands use :class:`Group` and :class:`Command`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cls=Group, add_completion=False, **kwargs)

    def command(self, name: str | None = None, **kwargs: Any) -> Callable[[F], F]:
        """Register a command (as :meth:`typer.Typer.command` does) with the :class:`Command` class."""
        return super().command(name, cls=Command, **kwargs)
