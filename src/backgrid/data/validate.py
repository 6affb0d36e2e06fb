"""Data validation: every problem named in plain words, with its rows, under a policy.

Each check has a policy: ``error`` (refuse the data), ``warn`` (keep it, report),
``fix`` (repair it, report what was done) or ``ignore``. The default policy never
changes data silently: structural problems are errors, gaps and spikes warnings.

=====================  =======  ==============================================================
check                  default  what ``fix`` does
=====================  =======  ==============================================================
missing_timestamp      error    drops the row
non_finite             error    drops the row (NaN, inf, empty or non-numeric cell)
non_positive_price     error    drops the row
high_low               error    widens high/low to cover open and close
negative_volume        error    drops the row
unsorted               error    sorts by time (stable)
duplicate_timestamp    error    keeps the last row of each repeated time (later rows correct earlier)
spacing                error    not available: bars closer than the timeframe mean a wrong timeframe
gap                    warn     not available: missing bars are never invented
outlier                warn     drops the row
=====================  =======  ==============================================================

Gaps follow the calendar: on a 24/7 market every missing bar is a gap; on a
session market a gap is a hole inside a session, or more than
``max_missing_sessions`` whole sessions missing in a row (holidays are not
modelled, so one missing weekday is tolerated by default).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal, cast

import numpy as np
import pandas as pd

from backgrid._fields import from_dict
from backgrid.data.calendar import DAY_NS, Calendar, annualisation_note, session_days
from backgrid.data.kernels import validate_nb as nb
from backgrid.data.timeframe import Timeframe
from backgrid.errors import DataError, ValidationError

__all__ = ["Finding", "RawColumns", "ValidationPolicy", "ValidationReport", "calendar_lines", "check_columns",
           "shorten", "validate"]

Policy = Literal["error", "warn", "fix", "ignore"]
Severity = Literal["error", "warning", "fixed"]
_POLICIES: tuple[str, ...] = ("error", "warn", "fix", "ignore")
_ALLOWED: dict[str, tuple[tuple[str, ...], str]] = {
    "missing_timestamp": (("error", "fix"), "a bar without a time cannot be kept"),
    "unsorted": (("error", "fix"), "bars must be in time order"),
    "duplicate_timestamp": (("error", "fix"), "each time may hold one bar"),
    "spacing": (("error", "warn", "ignore"), "bars closer than the timeframe cannot be repaired"),
    "gap": (("error", "warn", "ignore"), "missing bars are never invented"),
}
_EXAMPLES = 5
_QUOTE_LIMIT = 60  # characters of a cell shown in a message; a garbage cell can be megabytes long
_WARMUP = 30  # returns seen before the spike detector trusts its volatility estimate

_BITS = {
    "missing_timestamp": nb.MISSING_TS,
    "non_finite": nb.NON_FINITE,
    "non_positive_price": nb.NON_POSITIVE,
    "high_low": nb.HIGH_LOW,
    "negative_volume": nb.NEGATIVE_VOLUME,
    "duplicate_timestamp": nb.DUPLICATE,
    "spacing": nb.SPACING,
    "gap": nb.GAP,
    "outlier": nb.OUTLIER,
}
_DROPPED_BY_FIX = ("missing_timestamp", "non_finite", "non_positive_price", "negative_volume", "outlier")
_PRICES = ("open", "high", "low", "close")


@dataclass(frozen=True, slots=True)
class ValidationPolicy:
    """What to do about each kind of problem (see the module docstring for the table)."""

    missing_timestamp: Policy = "error"
    non_finite: Policy = "error"
    non_positive_price: Policy = "error"
    high_low: Policy = "error"
    negative_volume: Policy = "error"
    unsorted: Policy = "error"
    duplicate_timestamp: Policy = "error"
    spacing: Policy = "error"
    gap: Policy = "warn"
    outlier: Policy = "warn"
    max_missing_sessions: int = 1
    outlier_threshold: float = 12.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "max_missing_sessions":
                if not isinstance(value, int) or value < 0:
                    msg = f"policy field 'max_missing_sessions' must be an integer >= 0, got {value!r}"
                    raise DataError(msg)
            elif f.name == "outlier_threshold":
                if not isinstance(value, int | float) or not value > 0:
                    msg = f"policy field 'outlier_threshold' must be a number > 0, got {value!r}"
                    raise DataError(msg)
            else:
                allowed, why = _ALLOWED.get(f.name, (_POLICIES, ""))
                if value not in allowed:
                    reason = f" ({why})" if value in _POLICIES else ""
                    msg = f"policy for {f.name!r} must be one of {', '.join(allowed)}, got {value!r}{reason}"
                    raise DataError(msg)

    @classmethod
    def lenient(cls) -> ValidationPolicy:
        """Repair everything repairable, warn about the rest (an explicit opt-in)."""
        fixable: dict[str, Any] = {f.name: "fix" for f in fields(cls)
                   if f.type == "Policy" and "fix" in _ALLOWED.get(f.name, (_POLICIES, ""))[0]}
        return cls(**fixable)

    @classmethod
    def coerce(cls, value: ValidationPolicy | dict[str, Any] | str | None) -> ValidationPolicy:
        """Accept a policy, ``None`` (default), ``"lenient"``, or a dict of overrides."""
        if value is None:
            return cls()
        if isinstance(value, ValidationPolicy):
            return value
        if value == "lenient":
            return cls.lenient()
        if isinstance(value, dict):
            return from_dict(cls, value, what="validation check", error=DataError)
        msg = f"policy must be a ValidationPolicy, a dict of overrides or 'lenient', got {value!r}"
        raise DataError(msg)

    def of(self, check: str) -> str:
        """The policy for ``check`` (checks outside the table, such as column notes, only warn)."""
        return str(getattr(self, check, "warn"))


@dataclass(frozen=True, slots=True)
class Finding:
    """One kind of problem found in the data."""

    check: str
    severity: Severity
    message: str
    count: int = 0
    rows: tuple[int, ...] = ()
    column: str | None = None

    def __str__(self) -> str:
        return f"{self.severity}: [{self.check}] {self.message}"


def shorten(value: Any, limit: int = _QUOTE_LIMIT) -> str:
    """Quote a cell for a message, cut to ``limit`` characters with its full length said.

    >>> shorten("x" * 100, 10)
    "'xxxxxxxxxx...' (100 characters)"
    """
    text = str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)".replace("'...", "...'", 1)


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """Everything validation found, plus row counts before and after fixes.

    ``inferred`` says, one line each, what a loader guessed because it was not told
    (the calendar, a separator, a decimal comma), and how sure it is.
    """

    findings: tuple[Finding, ...] = ()
    rows_in: int = 0
    rows_out: int = 0
    source: str = ""
    inferred: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when nothing is an error."""
        return not self.errors

    @property
    def errors(self) -> list[Finding]:
        """Findings that refuse the data."""
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        """Findings kept as warnings."""
        return [f for f in self.findings if f.severity == "warning"]

    def describe(self, *, only_errors: bool = False) -> str:
        """Plain-text report, one finding a line."""
        shown = self.errors if only_errors else list(self.findings)
        where = f"{self.source}: " if self.source else ""
        notes = [f"  inferred: {line}" for line in self.inferred]
        if not shown:
            return "\n".join([f"{where}{self.rows_in} rows, no problems found", *notes])
        head = f"{where}{len(self.errors)} error(s), {len(self.warnings)} warning(s) in {self.rows_in} rows"
        return "\n".join([head, *(f"  {f}" for f in shown), *notes])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "ok": self.ok,
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "source": self.source,
            "inferred": list(self.inferred),
            "findings": [
                {"check": f.check, "severity": f.severity, "message": f.message, "count": f.count,
                 "rows": list(f.rows), "column": f.column}
                for f in self.findings
            ],
        }


@dataclass(slots=True)
class RawColumns:
    """Columns as parsed, before validation: ``ts`` int64 ns UTC (``NAT`` where unparsable)."""

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.ts.size)

    def take(self, rows: np.ndarray) -> RawColumns:
        """Rows at integer positions ``rows``."""
        return RawColumns(self.ts[rows], self.open[rows], self.high[rows], self.low[rows], self.close[rows],
                          self.volume[rows], {k: v[rows] for k, v in self.extras.items()})


def _default_label(i: int) -> str:
    return f"row {i + 1}"


def _stamp(ns: int) -> str:
    return str(pd.Timestamp(ns, tz="UTC")).replace("+00:00", "")


@dataclass(slots=True)
class _Context:
    raw: RawColumns
    label: Callable[[int], str]
    date_text: np.ndarray | Sequence[Any] | None
    names: Mapping[str, str | None]  # canonical column -> the name the user's data gives it

    def name(self, column: str | None) -> str | None:
        return None if column is None else (self.names.get(column) or column)

    def rows_text(self, rows: np.ndarray) -> str:
        shown = ", ".join(self.label(int(i)) for i in rows[:_EXAMPLES])
        more = f" and {rows.size - _EXAMPLES} more" if rows.size > _EXAMPLES else ""
        return f"{shown}{more}"

    def detail(self, check: str, i: int) -> tuple[str | None, str]:  # noqa: PLR0911
        r = self.raw
        o, h, lo, c, v = (float(a[i]) for a in (r.open, r.high, r.low, r.close, r.volume))
        if check == "missing_timestamp":
            text = f" {shorten(self.date_text[i])}" if self.date_text is not None else ""
            return "ts", (f"time{text} could not be parsed (malformed, or a local time that a DST change "
                          "skips or repeats)")
        if check == "non_finite":
            bad = [n for n, x in zip((*_PRICES, "volume"), (o, h, lo, c, v), strict=True) if not np.isfinite(x)]
            return bad[0], f"{', '.join(bad)} missing or not a number"
        if check == "non_positive_price":
            bad = [n for n, x in zip(_PRICES, (o, h, lo, c), strict=True) if x <= 0]
            return bad[0], f"{bad[0]} is {dict(zip(_PRICES, (o, h, lo, c), strict=True))[bad[0]]:g}, must be > 0"
        if check == "high_low":
            if h < max(o, c) or h < lo:
                return "high", f"high {h:g} is below max(open {o:g}, close {c:g}, low {lo:g})"
            return "low", f"low {lo:g} is above min(open {o:g}, close {c:g})"
        if check == "negative_volume":
            return "volume", f"volume is {v:g}, must be >= 0"
        if check == "duplicate_timestamp":
            return "ts", f"time {_stamp(int(r.ts[i]))} repeats an earlier row"
        if check == "spacing":
            return "ts", f"time {_stamp(int(r.ts[i]))} is closer to the previous bar than one timeframe"
        if check == "outlier":
            return "close", f"price spike (open {o:g}, high {h:g}, low {lo:g}, close {c:g})"
        return None, check

    def finding(self, check: str, policy: str, rows: np.ndarray, action: str) -> Finding:
        canonical, first = self.detail(check, int(rows[0]))
        column = self.name(canonical)
        severity: Severity = {"error": "error", "warn": "warning", "fix": "fixed"}[policy]  # type: ignore[assignment]
        first_row = self.label(int(rows[0]))
        what = first_row if rows.size == 1 else f"{rows.size} rows ({self.rows_text(rows)}); first at {first_row}"
        where = f", column {column}" if column else ""
        done = f" -> {action}" if policy == "fix" else ""
        return Finding(check, severity, f"{what}{where}: {first}{done}", int(rows.size),
                       tuple(int(x) for x in rows[:100]), column)


def check_columns(
    raw: RawColumns,
    *,
    timeframe: Timeframe,
    calendar: Calendar,
    policy: ValidationPolicy,
    row_label: Callable[[int], str] | None = None,
    date_text: np.ndarray | Sequence[Any] | None = None,
    notes: Sequence[Finding] = (),
    source: str = "",
    column_names: Mapping[str, str | None] | None = None,
    inferred: Sequence[str] = (),
) -> tuple[RawColumns, ValidationReport]:
    """Validate ``raw``; return the (possibly fixed) columns and the report.

    Raises :class:`~backgrid.errors.ValidationError` when any finding's policy is
    ``error``; ``notes`` (for example unknown columns a loader ignored) join the report;
    ``column_names`` gives the data's own names for the canonical columns, for messages;
    ``inferred`` lines (what the loader guessed) join the report as they are.
    """
    ctx = _Context(raw, row_label or _default_label, date_text, column_names or {})
    n = len(raw)
    args = (raw.ts, raw.open, raw.high, raw.low, raw.close, raw.volume)
    settings = (timeframe.nanos, calendar.continuous, float(policy.outlier_threshold), _WARMUP)
    empty = np.empty(0, dtype=np.int64)
    backwards, problems = nb.scan_nb(*args, np.empty(0, np.uint16), empty, *settings)
    flags = np.zeros(n if problems or backwards else 0, dtype=np.uint16)
    order: np.ndarray | None = None  # rows with a time, by increasing time; None: all rows, as stored
    if flags.size:
        missing = raw.ts == nb.NAT
        if backwards or missing.any():
            order = np.flatnonzero(~missing)
            if backwards:
                order = order[np.argsort(raw.ts[order], kind="stable")]
        nb.scan_nb(*args, flags, empty if order is None else order, *settings)
    findings = list(notes)
    if backwards:
        first_back = _first_backwards(raw.ts, order)  # type: ignore[arg-type]  # set when backwards
        findings.append(_unsorted_finding(ctx, policy.unsorted, backwards, first_back))
    gap_rows = _session_gaps(raw.ts, order, timeframe, calendar, policy) if not calendar.continuous else None
    problems = np.flatnonzero(flags) if flags.any() else np.empty(0, np.int64)
    for check, bit in _BITS.items():
        if policy.of(check) == "ignore":
            continue
        if check == "gap":
            rows = gap_rows if gap_rows is not None else problems[(flags[problems] & bit) != 0]
            if rows.size:
                findings.append(_gap_finding(ctx, policy.gap, rows, order))
            continue
        rows = problems[(flags[problems] & bit) != 0]
        if rows.size:
            findings.append(ctx.finding(check, policy.of(check), rows, _fix_action(check)))
    report = ValidationReport(tuple(findings), n, n, source, tuple(inferred))
    if not report.ok:
        raise ValidationError(report)
    fixed = _apply_fixes(raw, flags, order, policy, backwards)
    return fixed, replace(report, rows_out=len(fixed))


def _fix_action(check: str) -> str:
    if check == "high_low":
        return "high/low widened to cover open and close"
    if check == "duplicate_timestamp":
        return "kept the last row of each repeated time"
    return "row(s) dropped"


def _first_backwards(ts: np.ndarray, order: np.ndarray) -> int:
    in_file = np.sort(order)  # rows with a time, as stored
    steps = np.flatnonzero(np.diff(ts[in_file]) < 0)
    return int(in_file[steps[0] + 1])


def _unsorted_finding(ctx: _Context, policy: str, backwards: int, row: int) -> Finding:
    severity: Severity = {"error": "error", "warn": "warning", "fix": "fixed"}[policy]  # type: ignore[assignment]
    done = " -> sorted by time" if policy == "fix" else ""
    msg = (f"time goes backwards {backwards} time(s); first at {ctx.label(row)}, column {ctx.name('ts')}: "
           f"{_stamp(int(ctx.raw.ts[row]))} is earlier than the row before{done}")
    return Finding("unsorted", severity, msg, backwards, (row,), ctx.name("ts"))


def _gap_finding(ctx: _Context, policy: str, rows: np.ndarray, order: np.ndarray | None) -> Finding:
    severity: Severity = "error" if policy == "error" else "warning"
    if order is None:
        before = rows - 1
    else:
        position = np.empty(ctx.raw.ts.size, dtype=np.int64)
        position[order] = np.arange(order.size)
        before = order[position[rows] - 1]
    sizes = ctx.raw.ts[rows] - ctx.raw.ts[before]
    k = int(np.argmax(sizes))
    widest = pd.Timedelta(int(sizes[k]), unit="ns")
    msg = (f"{rows.size} gap(s) in the bars; the widest, {widest}, is between {ctx.label(int(before[k]))} "
           f"({_stamp(int(ctx.raw.ts[before[k]]))}) and {ctx.label(int(rows[k]))} "
           f"({_stamp(int(ctx.raw.ts[rows[k]]))}); first after {ctx.label(int(before[0]))}")
    return Finding("gap", severity, msg, int(rows.size), tuple(int(x) for x in rows[:100]), ctx.name("ts"))


def _session_gaps(ts: np.ndarray, order: np.ndarray | None, timeframe: Timeframe, calendar: Calendar,
                  policy: ValidationPolicy) -> np.ndarray:
    """Rows that follow a gap on a session calendar (see the module docstring)."""
    t = ts if order is None else ts[order]
    if t.size < 2:
        return np.empty(0, np.int64)
    day = session_days(t, calendar).astype("datetime64[D]")
    new_day = day[1:] != day[:-1]
    missing = np.zeros(t.size - 1, dtype=np.int64)
    if new_day.any():
        at = np.flatnonzero(new_day)
        missing[at] = np.busday_count(day[at] + 1, day[at + 1], weekmask=calendar.weekmask())
    if timeframe.nanos >= 7 * DAY_NS:
        gap = np.diff(t) > timeframe.nanos
    else:
        gap = missing > policy.max_missing_sessions
        if timeframe.is_intraday:
            gap |= ~new_day & (np.diff(t) > timeframe.nanos)
    after = np.flatnonzero(gap) + 1
    return after if order is None else order[after]


def _apply_fixes(raw: RawColumns, flags: np.ndarray, order: np.ndarray | None, policy: ValidationPolicy,
                 backwards: int) -> RawColumns:
    if not flags.size:
        return raw  # clean data: nothing to copy
    drop_bits = 0
    for check in _DROPPED_BY_FIX:
        if policy.of(check) == "fix":
            drop_bits |= _BITS[check]
    keep = np.arange(raw.ts.size) if order is None else order
    if drop_bits and (flags[keep] & drop_bits).any():
        keep = keep[(flags[keep] & drop_bits) == 0]
    if policy.duplicate_timestamp == "fix" and (flags[keep] & nb.DUPLICATE).any():
        t = raw.ts[keep]
        keep = keep[np.r_[t[1:] != t[:-1], True]]  # the last of each run of equal times
    changed = keep.size != raw.ts.size or bool(backwards)
    out = raw.take(keep) if changed else raw
    if policy.high_low == "fix" and (flags[keep] & nb.HIGH_LOW).any():
        out = replace(out, high=np.maximum.reduce([out.high, out.open, out.close]),
                      low=np.minimum.reduce([out.low, out.open, out.close]))
    return out


def calendar_lines(calendar: Calendar, timeframe: Timeframe) -> tuple[str, ...]:
    """Report lines for a guessed calendar: what was inferred, and whether annualised metrics rest on it."""
    if calendar.inferred is None:
        return ()
    note = annualisation_note(calendar, timeframe.nanos)
    return (calendar.inferred.describe(calendar.name), *([f"warning: {note}"] if note else []))


def validate(bars: Any, *, policy: ValidationPolicy | dict[str, Any] | str | None = None) -> ValidationReport:
    """Check existing :class:`~backgrid.data.bars.Bars` and return the report (never raises on findings)."""
    raw = RawColumns(bars.ts, bars.open, bars.high, bars.low, bars.close, bars.volume)
    try:
        _, report = check_columns(raw, timeframe=bars.timeframe, calendar=bars.calendar,
                                  policy=ValidationPolicy.coerce(policy), source=bars.symbol,
                                  inferred=calendar_lines(bars.calendar, bars.timeframe))
    except ValidationError as exc:
        return cast("ValidationReport", exc.report)  # errors.py types it without importing data
    return report
