"""``backgrid serve`` (the API with its workers and store, on this machine) and ``backgrid worker``."""

from __future__ import annotations

import ipaddress
import shlex
import sys
import textwrap
from typing import Any

import typer

from backgrid.cli.common import command, console, error_console
from backgrid.cli.listing import Column, Listing, emit

SETTINGS_HELP = "Print every setting (its environment variable, value and meaning) and exit."


def _settings(**given: Any) -> Any:
    from pydantic import ValidationError  # noqa: PLC0415

    from backgrid.service.settings import Settings  # noqa: PLC0415  # the service loads only when asked for

    try:
        return Settings(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        msg = f"the service settings are invalid: {problems}"
        raise typer.BadParameter(msg) from None


def _print_settings(settings: Any) -> None:
    """A table on a terminal; elsewhere an environment file (each setting under its help line), which a shell
    reads back as it is (``set -a; . ./backgrid.env``) and which stays within 80 columns but for long values."""
    out = console()
    if out.is_terminal:
        columns = [Column("variable"), Column("value", lambda r: str(r["value"]), wrap=True),
                   Column("description", wrap=True)]
        emit([Listing(columns, settings.documented(), title="Settings (environment, else the settings file)")],
             json_=False, csv_=False)
        return
    lines = ["# backgrid serve and backgrid worker: every setting, as the environment gives it", ""]
    for row in settings.documented():
        if row["secret"]:  # never printed; a file read back must not set it to the mask
            setting = f"# {row['variable']}=  (a secret: not shown)"
        elif row["value"] is None:  # unset: an empty variable would be an empty string, not none
            setting = f"# {row['variable']}="
        else:
            setting = f"{row['variable']}={shlex.quote(str(row['value']))}"
        lines += [*textwrap.wrap(row["description"], 78, initial_indent="# ", subsequent_indent="# "), setting, ""]
    out.print("\n".join(lines).rstrip(), markup=False, highlight=False, soft_wrap=True)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@command
def serve(
    host: str | None = typer.Option(None, "--host", help="Address to listen on (default 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", help="Port to listen on (default 8000)."),
    workers: int | None = typer.Option(None, "--workers", help="Worker processes (default: the cores; 0: none)."),
    log_format: str | None = typer.Option(None, "--log-format", help="console or json."),
    show_settings: bool = typer.Option(False, "--settings", help=SETTINGS_HELP),
) -> None:
    """Serve the REST API with its workers and store: SQLite and files under the home, nothing to install.

    Docs at http://HOST:PORT/docs. Scaled out: BACKGRID_DATABASE_URL=postgresql+psycopg://...,
    BACKGRID_EXECUTOR=procrastinate and `backgrid worker` on each machine (see --settings).
    """
    settings = _settings(host=host, port=port, workers=workers, log_format=log_format)
    if show_settings:
        _print_settings(settings)
        return
    if settings.auth == "local" and not _loopback(settings.host):
        msg = (f"local mode (one implicit user, no log-in) serves this machine only, not {settings.host}; "
               "set BACKGRID_AUTH=users to serve others")
        raise typer.BadParameter(msg, param_hint="--host")
    from backgrid.service.run import serve_forever  # noqa: PLC0415

    error_console().print(f"backgrid API on http://{settings.host}:{settings.port} (docs: /docs); "
                          f"{settings.workers} worker(s); store {settings.store_url.split('@')[-1]}",
                          markup=False, soft_wrap=True)
    serve_forever(settings)


@command
def worker(
    queue: str = typer.Option("manual", "--queue", help="The queue to work: manual (users' runs) or scheduled."),
    processes: int = typer.Option(1, "--processes", help="Worker processes on this machine."),
    log_format: str | None = typer.Option(None, "--log-format", help="console or json."),
) -> None:
    """Work the runs of one queue (next to `backgrid serve --workers 0`, or on other machines when scaled out)."""
    if queue not in ("manual", "scheduled"):
        msg = f"expected manual or scheduled, got {queue!r}"
        raise typer.BadParameter(msg, param_hint="--queue")
    if processes < 1:
        msg = f"expected at least 1, got {processes}"
        raise typer.BadParameter(msg, param_hint="--processes")
    settings = _settings(log_format=log_format)
    from backgrid.service.run import work_forever  # noqa: PLC0415

    error_console().print(f"backgrid worker: queue {queue}, {processes} process(es), executor {settings.executor}",
                          markup=False, soft_wrap=True)
    work_forever(settings, queue=queue, processes=processes)
    sys.stdout.flush()
