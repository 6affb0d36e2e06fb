"""The long-running processes: ``serve_forever`` (the API and its local workers) and ``work_forever``.

Embedded, ``serve`` starts ``workers`` processes on the ``manual`` queue and one on ``scheduled``, so that
automatic re-runs never wait behind, nor delay, a user's own runs. With the procrastinate executor the API
only queues; ``backgrid worker`` processes on any machine run the jobs.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
from contextlib import ExitStack

from backgrid.service.settings import Settings

__all__ = ["serve_forever", "work_forever"]


def serve_forever(settings: Settings) -> None:
    """Serve the API on ``settings.host:port`` until interrupted, with the local workers running beside it."""
    import uvicorn  # noqa: PLC0415  # the server loads only for `backgrid serve`

    from backgrid.service.app import create_app  # noqa: PLC0415
    from backgrid.service.jobs.pool import WorkerPool  # noqa: PLC0415
    from backgrid.service.jobs.scheduler import Scheduler, embedded_tasks  # noqa: PLC0415
    from backgrid.service.logs import configure_logging  # noqa: PLC0415

    configure_logging(settings.log_format, settings.log_level)
    app = create_app(settings)
    # uvicorn shuts down on SIGTERM, then raises the signal again; with its default action the process would
    # die there, before the block below stops the workers, and leave them running as orphans
    signal.signal(signal.SIGTERM, _stopped)
    with ExitStack() as stack:
        if settings.executor == "lease" and settings.workers > 0:
            stack.enter_context(WorkerPool(settings, settings.workers, queue="manual"))
            stack.enter_context(WorkerPool(settings, 1, queue="scheduled"))
        scheduler = Scheduler(settings, app.state.context.store, embedded_tasks(settings))
        scheduler.start()
        stack.callback(scheduler.stop)
        uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False)


def _stopped(_signum: int, _frame: object) -> None:
    raise SystemExit(0)  # a stop asked for: every `with` above unwinds, workers included


def work_forever(settings: Settings, *, queue: str, processes: int) -> None:
    """Work ``queue`` with ``processes`` processes until SIGINT or SIGTERM (each finishes its run first)."""
    from backgrid.service.jobs.pool import WorkerPool  # noqa: PLC0415
    from backgrid.service.logs import configure_logging  # noqa: PLC0415

    configure_logging(settings.log_format, settings.log_level)
    if settings.executor == "procrastinate":
        _procrastinate_workers(settings, queue=queue, processes=processes)
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with WorkerPool(settings, processes, queue=queue):
        stop.wait()


def _procrastinate_workers(settings: Settings, *, queue: str, processes: int) -> None:
    from backgrid.service.jobs.scaled import work  # noqa: PLC0415  # the `scaled` extra

    if processes == 1:
        work(settings, queue=queue)
        return
    context = multiprocessing.get_context("spawn")
    children = [context.Process(target=work, args=(settings,), kwargs={"queue": queue}) for _ in range(processes)]
    for child in children:
        child.start()
    try:
        for child in children:
            child.join()
    finally:
        for child in children:
            child.terminate()
