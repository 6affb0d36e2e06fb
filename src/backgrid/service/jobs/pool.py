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
import os
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Any, Self

from backgrid.service.jobs import kinds
from backgrid.service.jobs.worker import Execute, Worker, worker_process
from backgrid.service.settings import Settings

__all__ = ["WorkerPool"]

log = logging.getLogger(__name__)

#: how often the supervisor looks for dead processes (seconds)
SUPERVISE_SECONDS = 0.05
#: a process that dies younger than this (seconds) is restarted after a backoff that doubles, up to
#: ``MAX_RESTART_DELAY``: a worker that cannot start (a bad setting, an unreachable store) does not spin
YOUNG_SECONDS = 0.5
MAX_RESTART_DELAY = 5.0
#: how long stop waits for a worker to finish its run before terminating it (seconds)
STOP_SECONDS = 10.0


class _UntilOrphaned:
    """``stop``, which a worker also finds set once the process that started it has gone (``kill -9`` of
    ``serve``): a worker never outlives its pool by more than its current run and one poll."""

    def __init__(self, stop: Any, parent: int) -> None:
        self.stop, self.parent = stop, parent

    def is_set(self) -> bool:
        return bool(self.stop.is_set()) or os.getppid() != self.parent

    def wait(self, timeout: float | None = None) -> bool:
        return bool(self.stop.wait(timeout)) or self.is_set()


def _serve(settings: Settings, queue: str, execute: Execute, stop: Any, parent: int) -> None:
    """A worker process's life: one store, runs until ``stop`` is set or ``parent`` (the pool's process) dies."""
    # Ctrl-C reaches the whole process group: the pool's owner stops the workers between runs, not mid-run
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    worker_process(settings)  # below the API: its answers wait for no backtest
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    Worker(settings, queue=queue, execute=execute).run(_UntilOrphaned(stop, parent))


@dataclass
class _Slot:
    """One worker's place in the pool: its process now, when it started, and the backoff of its restarts."""

    process: BaseProcess
    born: float
    backoff: float = 0.0
    restart_at: float | None = None  # set when the process is found dead: when to start the next one


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
        self._slots: list[_Slot] = []
        self._lock = threading.Lock()
        self._supervisor: threading.Thread | None = None

    @property
    def pids(self) -> list[int]:
        """The process ids of the workers alive now."""
        with self._lock:
            return [s.process.pid for s in self._slots if s.process.pid is not None and s.process.is_alive()]

    def start(self) -> Self:
        """Start the processes and their supervisor."""
        if self._supervisor is not None:
            msg = "the pool is already started"
            raise RuntimeError(msg)
        with self._lock:
            self._slots = [_Slot(self._spawn(), time.monotonic()) for _ in range(self.processes)]
        self._supervisor = threading.Thread(target=self._supervise, name="worker-pool", daemon=True)
        self._supervisor.start()
        return self

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """Ask every worker to stop after its current run; terminate those still running after ``timeout``."""
        self._stopping.set()
        self._stop.set()
        if self._supervisor is not None:
            self._supervisor.join()
        for slot in self._slots:
            slot.process.join(timeout)
            if slot.process.is_alive():
                log.warning("worker %s did not stop in %.0f s; terminating it", slot.process.pid, timeout)
                slot.process.terminate()
                slot.process.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _spawn(self) -> BaseProcess:
        process = self._context.Process(target=_serve,
                                        args=(self.settings, self.queue, self.execute, self._stop, os.getpid()),
                                        name=f"backgrid-worker-{self.queue}", daemon=True)
        process.start()
        return process

    def _supervise(self) -> None:
        while not self._stopping.wait(SUPERVISE_SECONDS):
            with self._lock:
                for slot in self._slots:
                    if not self._stopping.is_set() and not slot.process.is_alive():
                        self._replace(slot)

    def _replace(self, slot: _Slot) -> None:
        """Start another process in a dead one's slot: at once, or after the backoff if it died young."""
        at = time.monotonic()
        if slot.restart_at is None:  # just found dead
            lived = at - slot.born
            slot.process.join()
            log.warning("worker %s exited with %s after %.1f s; starting another", slot.process.pid,
                        slot.process.exitcode, lived)
            young = lived < YOUNG_SECONDS
            slot.backoff = min(max(slot.backoff * 2, SUPERVISE_SECONDS), MAX_RESTART_DELAY) if young else 0.0
            slot.restart_at = at + slot.backoff
        if at < slot.restart_at:
            return
        slot.process, slot.born, slot.restart_at = self._spawn(), at, None
        self.restarts += 1
