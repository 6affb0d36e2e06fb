"""Run chunks of work in this process, across local processes (joblib's loky), or on a Dask cluster.

Every runner maps a function over items and returns the results in the items' order, so a fanned-out run
gives exactly what a single-process run gives. Work is only split between whole chunks of parameter sets;
each chunk is a deterministic engine call.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Self, TypeVar

from backgrid.errors import OptimizeError

__all__ = ["Runner"]

R = TypeVar("R")


class Runner:
    """Maps a function over items: ``jobs`` local processes, or the Dask cluster at ``cluster``."""

    def __init__(self, jobs: int = 1, cluster: str | Any | None = None) -> None:
        if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs == 0 or jobs < -1:
            msg = f"jobs must be a whole number >= 1 (or -1 for every core), got {jobs!r}"
            raise OptimizeError(msg)
        self.jobs = (os.cpu_count() or 1) if jobs == -1 else jobs
        self.cluster = cluster
        self._client: Any = None

    @property
    def workers(self) -> int:
        """How many chunks run at once."""
        if self._client is not None:
            workers = self._client.scheduler_info()["workers"].values()
            return max(1, sum(int(w.get("nthreads", 1)) for w in workers))
        return self.jobs

    def __enter__(self) -> Self:
        if self.cluster is not None:
            try:
                from distributed import Client  # noqa: PLC0415  # an extra: only a cluster run needs it
            except ImportError:  # pragma: no cover - depends on the installed extras
                msg = "a Dask cluster needs the 'dask' extra: pip install 'backgrid[dask]'"
                raise OptimizeError(msg) from None
            self._client = (self.cluster if hasattr(self.cluster, "scheduler_info")
                            else Client(self.cluster, set_as_default=False))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._client is not None and self._client is not self.cluster:
            self._client.close()
        self._client = None

    def map(self, function: Callable[..., R], items: Sequence[Any], *shared: Any) -> Iterator[R]:
        """``function(item, *shared)`` for each item, yielded in the items' order.

        ``shared`` values (the bars, the strategy) are sent to each worker once.
        """
        if self._client is not None:
            yield from self._dask(function, items, shared)
        elif self.jobs == 1 or len(items) <= 1:
            for item in items:
                yield function(item, *shared)
        else:
            from joblib import Parallel, delayed  # type: ignore[import-untyped]  # noqa: PLC0415  # imported for a fan-out only

            parallel = Parallel(n_jobs=min(self.jobs, len(items)), backend="loky", return_as="generator")
            yield from parallel(delayed(_single_threaded)(function, item, *shared) for item in items)

    def _dask(self, function: Callable[..., R], items: Sequence[Any], shared: tuple[Any, ...]) -> Iterator[R]:
        client = self._client
        # each shared value travels once to every worker (a list is wrapped: scatter would split it)
        scattered = [client.scatter([value], broadcast=True)[0] for value in shared]
        futures = [client.submit(function, item, *scattered, pure=False) for item in items]
        try:
            yield from client.gather(futures)
        finally:
            for future in futures:
                future.cancel()


def _single_threaded(function: Callable[..., R], item: Any, *shared: Any) -> R:
    """Run in a worker process with the engine on one thread (the processes are the parallelism)."""
    import numba  # noqa: PLC0415  # in the worker

    numba.set_num_threads(1)
    return function(item, *shared)

