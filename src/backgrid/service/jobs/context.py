"""What every kind is given and gives back: its context (folder, progress, data store), its outcome, its errors.

A kind reports its progress through :meth:`JobContext.progress` at least every 5 % of its work; that is also
where a cancel request stops it (:class:`Cancelled`). Bad input (a malformed document or request, data or
settings that cannot work) fails the run at once (:func:`error_of` says it is not retryable); anything else
is retried.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backgrid.errors import (
    BackgridError,
    CredentialsError,
    DataError,
    EngineError,
    OptimizeError,
    ProviderError,
    RobustnessError,
    SourceError,
    SpecError,
)
from backgrid.service.jobs.lease import Claim, LeaseLost, renew
from backgrid.service.userdata import series_cache, user_store

if TYPE_CHECKING:
    from backgrid.data.store import DataStore
    from backgrid.service.settings import Settings
    from backgrid.service.store.db import Store

__all__ = ["PROGRESS_FLOOR", "PROGRESS_SECONDS", "PROGRESS_STEP", "Cancelled", "JobContext", "Kind", "Outcome",
           "RequestError", "check_options", "error_of"]

#: the smallest step of progress stored (a little under the 5 % of their work the kinds report at, which
#: is 4.25 % of the run's progress or more), and the longest wait between two stores (seconds)
PROGRESS_STEP = 0.04
PROGRESS_SECONDS = 0.5
#: the shortest wait between two stores (seconds): the event stream reads the row this often
#: (``EVENT_POLL_SECONDS`` of the runs routes), so a store sooner than that would mostly be overwritten
#: unseen; a run of a few milliseconds writes its start and its end, not its steps
PROGRESS_FLOOR = 0.05


class Cancelled(BackgridError, RuntimeError):  # noqa: N818  # the run's status, as the API names it
    """The run was cancelled while it ran; the kind stops where it was."""


class RequestError(BackgridError, ValueError):
    """A run's request is malformed; ``problems`` holds every ``(path, message)``, paths like ``options.sweep``."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{path}: {message}" for path, message in problems))


#: errors of the input, which no retry can fix
_BAD_INPUT = (SpecError, EngineError, DataError, OptimizeError, RobustnessError, RequestError)


@dataclass(frozen=True)
class Outcome:
    """What a kind produced: the run's summary (JSON), the files it wrote (in its folder), its trials and folds."""

    summary: dict[str, Any]
    files: list[Path]
    trials: list[dict[str, Any]] = field(default_factory=list)
    #: a walk-forward's folds: ``{fold, train_start, train_end, test_start, test_end, params, ...stats}``
    folds: list[dict[str, Any]] = field(default_factory=list)


class JobContext:
    """What a kind may use: its folder, its progress reports, the user's data store, the settings."""

    def __init__(self, settings: Settings, store: Store, claim: Claim, folder: Path) -> None:
        self.settings = settings
        self.store = store
        self.claim = claim
        self.folder = folder
        self._started = time.monotonic()
        self._stored = (0.0, self._started)  # fraction and monotonic time of the last store: the claim's
        self._cancel = threading.Event()
        self._lost: LeaseLost | None = None

    def data_store(self) -> DataStore:
        """The user's market-data store (see ``service.userdata``)."""
        return user_store(self.settings.home, self.claim.user_id, series_cache(self.settings.series_cache_mb))

    def progress(self, fraction: float, message: str = "") -> None:
        """Report ``fraction`` (0 to 1) of the work done; stored every ~5 % (no sooner than 50 ms after the last
        store) or 0.5 s, with an ETA.

        Raises:
            Cancelled: a cancel was requested (seen here or by the heartbeat).
            LeaseLost: the attempt lost its run (seen here or by the heartbeat).
        """
        self._check()
        at = time.monotonic()
        last_fraction, last_at = self._stored
        since = at - last_at
        if since < PROGRESS_FLOOR or (fraction - last_fraction < PROGRESS_STEP and since < PROGRESS_SECONDS):
            return
        elapsed = at - self._started
        eta = elapsed * (1 - fraction) / fraction if fraction > 0 else None
        self._stored = (fraction, at)
        if renew(self.store, self.claim, lease_seconds=self.settings.lease_seconds, progress=fraction,
                 message=message, eta_seconds=eta):
            self._cancel.set()
        self._check()

    def heartbeat(self) -> None:
        """Renew the lease (the worker's heartbeat thread calls this); a cancel or a lost lease is kept for
        the kind's next progress report."""
        try:
            if renew(self.store, self.claim, lease_seconds=self.settings.lease_seconds):
                self._cancel.set()
        except LeaseLost as exc:
            self._lost = exc

    def _check(self) -> None:
        if self._lost is not None:
            raise self._lost
        if self._cancel.is_set():
            msg = f"run {self.claim.run_id} was cancelled"
            raise Cancelled(msg)


Kind = Callable[[Claim, JobContext], Outcome]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def error_of(exc: BaseException) -> tuple[dict[str, Any], bool]:
    """The run's error ``{error, code, details}`` for ``exc``, and whether a retry may help."""
    problems = getattr(exc, "problems", None)
    details = None
    if isinstance(exc, SpecError | RequestError) and problems:
        details = [{"path": path, "message": message} for path, message in problems]
    # a vendor that refuses the credentials, or a source with no such series, answers the same way again;
    # a vendor that is down, slow or rate-limiting may answer the next attempt
    unservable = isinstance(exc, SourceError) and (not isinstance(exc, ProviderError) or
                                                  isinstance(exc, CredentialsError))
    return {"error": str(exc) or type(exc).__name__, "code": _snake(type(exc).__name__),
            "details": details}, not (isinstance(exc, _BAD_INPUT) or unservable)


def check_options(options: Any, allowed: Sequence[str]) -> dict[str, Any]:
    """``options`` when each is one of ``allowed``; a :class:`RequestError` naming the others."""
    if not isinstance(options, dict):
        raise RequestError([("options", f"expected an object, got {type(options).__name__}")])
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        expected = f"not an option of this kind; expected one of {', '.join(allowed)}"
        raise RequestError([(f"options.{name}", expected) for name in unknown])
    return options
