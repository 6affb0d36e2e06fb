"""Local worker processes for ``backgrid serve``: N spawned workers, and a supervisor that replaces the dead.

Processes are started with the ``spawn`` method (no forked copy of the parent's database connections or
threads); each opens its own store. A process that dies (``kill -9``, out of memory) is replaced within
``SUPERVISE_SECONDS``; the run it held is claimed again when its lease expires.

    with WorkerPool(settings, processes=2):
        ...  # runs are claimed and run while the block lasts
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Any, Self

from backgrid.service.jobs import kinds
from backgrid.service.jobs.worker import Execute, Worker
from backgrid.service.settings import Settings

__all__ = ["WorkerPool"]

log = logging.getLogger(__name__)

#: how often the supervisor looks for dead processes (seconds)
SUPERVISE_SECONDS = 0.05
#: how long stop waits for a worker to finish its run before terminating it (seconds)
STOP_SECONDS = 10.0


def _serve(settings: Settings, queue: str, execute: Execute, stop: Any) -> None:
    """A worker process's life: one store, runs until ``stop`` is set."""
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    Worker(settings, queue=queue, execute=execute).run(stop)


class WorkerPool:
    """``processes`` worker processes of ``queue``, restarted when they die, until :meth:`stop`.

    ``execute`` (a module-level function, which a spawned process can import) runs each claim.
    ``restarts`` counts the processes replaced.
    """

    def __init__(self, settings: Settings, processes: int, queue: str = "manual", *,
                 execute: Execute = kinds.execute) -> None:
        self.settings = settings
        self.processes = processes
        self.queue = queue
        self.execute = execute
        self.restarts = 0
        self._context = multiprocessing.get_context("spawn")
        self._stop = self._context.Event()
        self._stopping = threading.Event()
        self._workers: list[BaseProcess] = []
        self._lock = threading.Lock()
        self._supervisor: threading.Thread | None = None

    @property
    def pids(self) -> list[int]:
        """The process ids of the workers alive now."""
        with self._lock:
            return [p.pid for p in self._workers if p.pid is not None and p.is_alive()]

    def start(self) -> Self:
        """Start the processes and their supervisor."""
        if self._supervisor is not None:
            msg = "the pool is already started"
            raise RuntimeError(msg)
        with self._lock:
            self._workers = [self._spawn() for _ in range(self.processes)]
        self._supervisor = threading.Thread(target=self._supervise, name="worker-pool", daemon=True)
        self._supervisor.start()
        return self

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """Ask every worker to stop after its current run; terminate those still running after ``timeout``."""
        self._stopping.set()
        self._stop.set()
        if self._supervisor is not None:
            self._supervisor.join()
        for process in self._workers:
            process.join(timeout)
            if process.is_alive():
                log.warning("worker %s did not stop in %.0f s; terminating it", process.pid, timeout)
                process.terminate()
                process.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _spawn(self) -> BaseProcess:
        process = self._context.Process(target=_serve, args=(self.settings, self.queue, self.execute, self._stop),
                                        name=f"backgrid-worker-{self.queue}", daemon=True)
        process.start()
        return process

    def _supervise(self) -> None:
        while not self._stopping.wait(SUPERVISE_SECONDS):
            with self._lock:
                for position, process in enumerate(self._workers):
                    if process.is_alive() or self._stopping.is_set():
                        continue
                    log.warning("worker %s exited with %s; starting another", process.pid, process.exitcode)
                    process.join()
                    self._workers[position] = self._spawn()
                    self.restarts += 1
