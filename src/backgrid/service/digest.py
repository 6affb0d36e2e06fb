"""The weekly digest: each opted-in user (``User.digest``) gets an e-mail of last week's runs.

A week runs from Monday 00:00 UTC to the next Monday. Once a week has ended, :func:`send_digests` sends
every opted-in user who ran something in it one message (HTML with a plain-text part): each top-level run's
strategy, kind, status, total return and Sharpe ratio (from ``Run.summary`` when the run wrote them). A sent
digest is recorded as an ``Event`` named ``digest_sent``, so that calling it again (every hour, after a
restart) sends nobody twice; a user whose server refused the message is tried again at the next call.

It speaks SMTP with the standard library: ``smtp_host`` and ``smtp_port`` (465: TLS from the start, else
STARTTLS when the server offers it), ``smtp_user`` and ``smtp_password`` when the server wants a login,
``smtp_sender`` as the From address.
"""

from __future__ import annotations

import html
import math
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import structlog

from backgrid.errors import BackgridError
from backgrid.service.store.db import now
from backgrid.service.store.models import Event, Run, Strategy, StrategyVersion, User

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import Session

    from backgrid.service.settings import Settings
    from backgrid.service.store.db import Store

__all__ = ["SENT", "DigestError", "RunLine", "compose", "last_week", "send_digests"]

#: the event that records a digest sent to a user
SENT = "digest_sent"
_TLS_PORT = 465
_log = structlog.get_logger("backgrid.service.digest")


class DigestError(BackgridError, OSError):
    """The digest could not be sent: no SMTP server set, or the server could not be reached or refused a login."""


@dataclass(frozen=True, slots=True)
class RunLine:
    """One run as the digest shows it."""

    name: str
    kind: str
    status: str
    created_at: float
    total_return: float | None
    sharpe: float | None


def last_week(at: float) -> tuple[float, float]:
    """The last whole week before ``at``: from the Monday before last, 00:00 UTC, to last Monday's."""
    day = datetime.fromtimestamp(at, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    end = day - timedelta(days=day.weekday())
    return (end - timedelta(days=7)).timestamp(), end.timestamp()


def _number(summary: dict[str, Any] | None, key: str) -> float | None:
    value = (summary or {}).get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None  # not written, or not a number a person can read (a Sharpe of a run without trades: NaN)
    return float(value)


def _runs(session: Session, user_id: str, start: float, end: float) -> list[RunLine]:
    """The user's top-level runs created in ``[start, end)``, oldest first (a sweep's children are its lines)."""
    rows = session.execute(
        sa.select(Run, Strategy.name, StrategyVersion.number)
        .outerjoin(StrategyVersion, Run.strategy_version_id == StrategyVersion.id)
        .outerjoin(Strategy, StrategyVersion.strategy_id == Strategy.id)
        .where(Run.user_id == user_id, Run.parent_id.is_(None), Run.created_at >= start, Run.created_at < end)
        .order_by(Run.created_at)).all()
    lines = []
    for run, strategy, number in rows:
        document = run.request.get("document")
        named = document.get("name") if isinstance(document, dict) else None
        name = f"{strategy} v{number}" if strategy is not None else str(named or f"{run.kind} {run.id[:8]}")
        lines.append(RunLine(name, run.kind, run.status, run.created_at, _number(run.summary, "total_return"),
                             _number(run.summary, "sharpe_ratio")))
    return lines


def _day(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d")


def _cells(line: RunLine) -> list[str]:
    gain = "" if line.total_return is None else f"{line.total_return:+.2%}"
    sharpe = "" if line.sharpe is None else f"{line.sharpe:.2f}"
    return [line.name, line.kind, line.status, gain, sharpe, _day(line.created_at)]


_HEAD = ["Strategy", "Kind", "Status", "Total return", "Sharpe", "Created"]


def compose(to: str, lines: Sequence[RunLine], *, start: float, end: float, sender: str) -> EmailMessage:
    """The digest of ``lines`` (the runs of the week ``[start, end)``) for ``to``: plain text and HTML."""
    span = f"{_day(start)} to {_day(end - 1)}"
    counts: dict[str, int] = {}
    for line in lines:
        counts[line.status] = counts.get(line.status, 0) + 1
    tally = f"{len(lines)} run{'s' * (len(lines) != 1)}" + "".join(
        f"{', ' if i else ': '}{n} {status}" for i, (status, n) in enumerate(sorted(counts.items())))
    message = EmailMessage()
    message["Subject"] = f"backgrid: your week, {span}"
    message["From"] = sender
    message["To"] = to
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    rows = [_cells(line) for line in lines]
    message.set_content("\n".join([f"Your runs from {span}. {tally}.", "", " | ".join(_HEAD),
                                   *(" | ".join(row) for row in rows)]) + "\n")

    def row(cells: list[str], tag: str) -> str:
        return "<tr>" + "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in cells) + "</tr>"

    body = "\n".join([f"<p>Your runs from {html.escape(span)}. {html.escape(tally)}.</p>", "<table>",
                      row(_HEAD, "th"), *(row(r, "td") for r in rows), "</table>"])
    message.add_alternative(f"<!doctype html>\n<html><body>\n{body}\n</body></html>\n", subtype="html")
    return message


def _connect(settings: Settings) -> smtplib.SMTP:
    """A connection to the SMTP server of ``settings``, encrypted when it can be and logged in when asked."""
    if not settings.smtp_host:
        msg = "smtp_host is not set: the digest has no server to send through (set BACKGRID_SMTP_HOST)"
        raise DigestError(msg)
    where = f"smtp_host={settings.smtp_host!r} smtp_port={settings.smtp_port}"
    try:
        if settings.smtp_port == _TLS_PORT:
            client: smtplib.SMTP = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=30,
                                                    context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30)
            client.ehlo()
            if client.has_extn("starttls"):
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
        if settings.smtp_user:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            client.login(settings.smtp_user, password)
    except smtplib.SMTPAuthenticationError as exc:
        msg = f"the SMTP server at {where} refused the login of smtp_user={settings.smtp_user!r}: {exc.smtp_code}"
        raise DigestError(msg) from exc
    except (OSError, smtplib.SMTPException) as exc:
        msg = f"cannot reach the SMTP server at {where}: {exc}"
        raise DigestError(msg) from exc
    return client


def _due(session: Session, end: float) -> list[User]:
    """Opted-in users with no digest recorded since ``end`` (the week's end)."""
    sent = sa.select(Event.user_id).where(Event.name == SENT, Event.created_at >= end, Event.user_id.is_not(None))
    return list(session.scalars(sa.select(User).where(User.digest.is_(True), User.id.not_in(sent))
                                .order_by(User.email)))


def send_digests(settings: Settings, store: Store, at: float | None = None) -> list[str]:
    """Send last week's digest (see the module docstring) to every user who is due at ``at``; return their e-mails.

    Raises :class:`DigestError` when the server cannot be reached; the users already sent stay recorded.
    """
    moment = now() if at is None else at
    start, end = last_week(moment)
    with store.session() as session:
        due = [(user.id, user.email, _runs(session, user.id, start, end)) for user in _due(session, end)]
    due = [(user_id, email, lines) for user_id, email, lines in due if lines]
    if not due:
        return []
    sent = []
    client = _connect(settings)
    try:
        with client:  # QUIT when done
            for user_id, email, lines in due:
                try:
                    client.send_message(compose(email, lines, start=start, end=end, sender=settings.smtp_sender))
                except smtplib.SMTPRecipientsRefused as exc:  # one bad address leaves the others to send
                    _log.warning("digest refused", user_id=user_id, error=str(exc.recipients))
                    continue
                with store.session() as session:
                    session.add(Event(user_id=user_id, name=SENT, created_at=moment,
                                      properties={"week": _day(start), "runs": len(lines)}))
                sent.append(email)
    except (OSError, smtplib.SMTPException) as exc:
        msg = f"the SMTP server at smtp_host={settings.smtp_host!r} failed after {len(sent)} digests: {exc}"
        raise DigestError(msg) from exc
    _log.info("digests sent", week=_day(start), users=len(sent))
    return sent
