"""Exceptions raised by backgrid.

Every exception derives from :class:`BackgridError` and from the builtin it
naturally refines, so ``except ValueError`` keeps working for callers who do
not know backgrid::

    BackgridError
    ├── DataError (ValueError)              bad market data or a bad request for it
    │   ├── TimeframeError                  a timeframe string that is not supported
    │   ├── ColumnError                     a missing, unknown or ambiguous column
    │   ├── AmbiguousSeriesError            several sources hold the series asked for; name one
    │   └── ValidationError                 data failed validation; carries the report
    ├── IndicatorError (ValueError)         an unknown indicator or a parameter out of its range
    ├── MetricsError (ValueError)           a metric asked for with settings that cannot work
    ├── RobustnessError (ValueError)        PSR, DSR, PBO or a Monte Carlo given inputs that cannot work
    ├── ChartError (ValueError)             a chart asked of data it cannot draw; names the argument
    ├── AnalysisError (ValueError)          regimes, insights, benchmarks or a run diff of inputs that cannot work
    ├── ReportError (ValueError)            a tear sheet asked for in a form it cannot be written
    ├── SpecError (ValueError)              a strategy document that is malformed; names every bad path
    ├── EngineError (ValueError)            a backtest asked for with inputs or settings that cannot work
    │   └── OptionError                     one engine option out of its range; ``option`` names it
    ├── OptimizeError (ValueError)          a search space, objective, constraint or study that cannot work
    │   └── StudyMismatchError              a study on disk was started with other settings than the resumed one
    ├── EquityNotKeptError (AttributeError) equity, stats, ledger or plot of a run with keep_equity=False
    ├── ResultColumnError (KeyError)        a column (parameter set) that a result does not have
    ├── ResultFileError (OSError)           a file that is not a result backgrid wrote, or a run folder without one
    ├── ConformanceError (AssertionError)   an indicator module breaks the plugin contract; lists every broken rule
    ├── StoreError (OSError)                the local data store could not read or write
    │   └── SeriesNotFoundError (KeyError)  no such series in the store
    └── SourceError (LookupError)           a data source cannot serve the request
        └── ProviderError                   a market-data vendor failed to answer; ``provider`` names it
            ├── RateLimitError              the vendor said "too many requests"; ``retry_after`` seconds
            ├── ProviderUnavailableError    a server error, a timeout or no connection (try the next vendor)
            ├── ResponseError               an answer that cannot be read (malformed, other fields, bad times)
            └── CredentialsError            an API key missing or refused; names the environment variable

This module imports nothing of backgrid, so that every other module can import it.
"""

from __future__ import annotations

from typing import Protocol

__all__ = [
    "AmbiguousSeriesError",
    "AnalysisError",
    "BackgridError",
    "ChartError",
    "ColumnError",
    "ConformanceError",
    "CredentialsError",
    "DataError",
    "EngineError",
    "EquityNotKeptError",
    "IndicatorError",
    "MetricsError",
    "OptimizeError",
    "OptionError",
    "ProviderError",
    "ProviderUnavailableError",
    "RateLimitError",
    "ReportError",
    "ResponseError",
    "ResultColumnError",
    "ResultFileError",
    "RobustnessError",
    "SeriesNotFoundError",
    "SourceError",
    "SpecError",
    "StoreError",
    "StudyMismatchError",
    "TimeframeError",
    "ValidationError",
]


class BackgridError(Exception):
    """Root of every error backgrid raises on purpose."""


class DataError(BackgridError, ValueError):
    """Market data, or a request for it, is not what was expected."""


class TimeframeError(DataError):
    """A timeframe string is not one of the supported ones."""


class ColumnError(DataError):
    """A required column is missing, or a column cannot be interpreted."""


class AmbiguousSeriesError(DataError):
    """A series was requested without a source, and several sources hold it."""


class Report(Protocol):
    """What :class:`ValidationError` needs of its report (a ``data.validate.ValidationReport``)."""

    def describe(self, *, only_errors: bool = False) -> str:
        """Plain-text report, one finding a line (with ``only_errors``, the errors alone)."""
        ...


class ValidationError(DataError):
    """Data failed validation under the chosen policies.

    ``report`` (a ``backgrid.data.validate.ValidationReport``) holds every problem found, not only the first.
    """

    def __init__(self, report: Report) -> None:
        self.report = report
        super().__init__(report.describe(only_errors=True))


class IndicatorError(BackgridError, ValueError):
    """An indicator is unknown, badly declared, or given a parameter outside its range."""


class MetricsError(BackgridError, ValueError):
    """A metric was asked for with settings that cannot work (a non-positive periods_per_year...)."""


class RobustnessError(BackgridError, ValueError):
    """A robustness statistic (PSR, DSR, PBO, a Monte Carlo) was given inputs that cannot work; names the argument."""


class ChartError(BackgridError, ValueError):
    """A chart was asked of data it cannot draw (an empty frame, a missing column); the message names the argument."""


class SpecError(BackgridError, ValueError):
    """A strategy document is malformed.

    ``problems`` holds every ``(path, message)`` found, the path in the document's own
    words (``entries.long.all[2].crosses_above[1]``); the message lists them one per line.
    """

    def __init__(self, problems: list[tuple[str, str]], *, source: str = "") -> None:
        self.problems = problems
        self.source = source
        head = f"{source}: " if source else ""
        lines = [f"{path}: {message}" if path else message for path, message in problems]
        if len(lines) == 1:
            super().__init__(head + lines[0])
        else:
            super().__init__(f"{head}{len(lines)} problems\n" + "\n".join(f"  {line}" for line in lines))


class EngineError(BackgridError, ValueError):
    """A backtest was asked for with inputs or settings that cannot work."""


class OptionError(EngineError):
    """An engine option has a value outside what it accepts; ``option`` names it."""

    def __init__(self, message: str, *, option: str) -> None:
        self.option = option
        super().__init__(message)


class OptimizeError(BackgridError, ValueError):
    """A search space, objective, constraint, splitter or study cannot work as asked; the message names which."""


class StudyMismatchError(OptimizeError):
    """A study on disk was started with other settings (strategy, data, space, method...) than the one resumed."""


class EquityNotKeptError(BackgridError, AttributeError):
    """A result was asked for what needs its equity curve (equity, stats, ledger, plot), and the run did not keep it.

    A run with ``keep_equity=False`` keeps only the final equity and drawdown, in ``Result.summary``.
    """


class ResultFileError(BackgridError, OSError):
    """A file that is not a result backgrid wrote (another layout, a damaged file), or a run folder without one."""


class AnalysisError(BackgridError, ValueError):
    """Regimes, insights, benchmarks or a run diff asked of inputs that cannot work; the message names the input."""


class ReportError(BackgridError, ValueError):
    """A tear sheet asked for in a form it cannot be written: an unknown file type, a missing column."""


class ResultColumnError(BackgridError, KeyError):
    """A result was asked for a column (a parameter set) that it does not have."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ConformanceError(BackgridError, AssertionError):
    """An indicator module breaks the plugin contract; ``problems`` lists every broken rule."""

    def __init__(self, spec_id: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"indicator {spec_id!r} is not conformant:\n  " + "\n  ".join(problems))


class StoreError(BackgridError, OSError):
    """The local data store could not be read or written."""


class SeriesNotFoundError(StoreError, KeyError):
    """The requested series is not in the store."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class SourceError(BackgridError, LookupError):
    """A data source cannot serve the request (unknown symbol, timeframe or range)."""


class ProviderError(SourceError):
    """A market-data vendor failed to answer; ``provider`` names it (a fallback chain tries the next one)."""

    def __init__(self, message: str, *, provider: str) -> None:
        super().__init__(message)
        self.provider = provider


class RateLimitError(ProviderError):
    """The vendor refused the request for its rate (HTTP 429); ``retry_after`` is its wait in seconds, if given."""

    def __init__(self, message: str, *, provider: str, retry_after: float | None = None) -> None:
        super().__init__(message, provider=provider)
        self.retry_after = retry_after


class ProviderUnavailableError(ProviderError):
    """A server error (HTTP 5xx), a timeout or no connection: the vendor may answer later."""


class ResponseError(ProviderError):
    """The vendor answered something that cannot be read: malformed, missing fields, impossible times."""


class CredentialsError(ProviderError):
    """An API key is missing or was refused; the message names the environment variable to set."""
