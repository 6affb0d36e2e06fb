"""The weekly digest, sent to a real SMTP server that this test runs (a small threaded sink)."""

from __future__ import annotations

import base64
import email
import socketserver
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from backgrid.service.digest import SENT, DigestError, compose, last_week, send_digests
from backgrid.service.settings import Settings
from backgrid.service.store.db import Store, new_id
from backgrid.service.store.models import Event, Run, Strategy, StrategyVersion, User
from tests.service.conftest import migrated

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

#: Wednesday 2026-12-02 12:00 UTC: last week is Monday 2026-11-23 to Monday 2026-11-30
AT = datetime(2026, 12, 2, 12, tzinfo=UTC).timestamp()
MONDAY = datetime(2026, 11, 30, tzinfo=UTC).timestamp()
DAY = 86_400.0
LOCKED = "!"  # a password hash no password matches


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class Sink:
    """What the SMTP sink received; ``refuse`` are recipients it answers 550 to."""

    mails: list[Mail] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    port: int = 0


class _Session(socketserver.StreamRequestHandler):
    """One SMTP session: EHLO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT (RFC 5321's minimum)."""

    sink: Sink

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 sink ready")
        sender, recipients = "", []
        while line := self.rfile.readline().decode().rstrip("\r\n"):
            verb, _, rest = line.partition(" ")
            verb = verb.upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250-sink\r\n250-AUTH PLAIN\r\n250 8BITMIME")
            elif verb == "AUTH":
                _, user, password = base64.b64decode(rest.split()[1]).decode().split("\0")
                self.sink.logins.append((user, password))
                self.reply("235 ok")
            elif verb == "MAIL":
                sender = rest.split(":", 1)[1].strip().split()[0].strip("<>")
                self.reply("250 ok")
            elif verb == "RCPT":
                who = rest.split(":", 1)[1].strip().strip("<>")
                if who in self.sink.refuse:
                    self.reply("550 no such user")
                else:
                    recipients.append(who)
                    self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 go on")
                data = b"".join(iter(self.rfile.readline, b".\r\n"))
                parsed = email.message_from_bytes(data, _class=EmailMessage, policy=policy.default)
                self.sink.mails.append(Mail(sender, recipients, parsed))
                sender, recipients = "", []
                self.reply("250 queued")
            elif verb == "RSET":
                sender, recipients = "", []
                self.reply("250 ok")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


@pytest.fixture
def sink() -> Iterator[Sink]:
    """An SMTP server on a free local port, in a thread."""
    received = Sink()
    handler = type("Handler", (_Session,), {"sink": received})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    received.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield received
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with migrated(f"sqlite:///{tmp_path / 'service.sqlite'}") as made:
        yield made


def _settings(tmp_path: Path, port: int, **more: Any) -> Settings:
    return Settings(home=tmp_path, smtp_host="127.0.0.1", smtp_port=port, smtp_sender="digest@backgrid.test",
                    **more)


def _user(session: Any, mail: str, *, digest: bool = True) -> User:
    user = User(id=new_id(), email=mail, password_hash=LOCKED, digest=digest, created_at=0.0)
    session.add(user)
    session.flush()  # the models declare no relationships: rows that point at it go in after it
    return user


def _run(session: Any, user: User, created_at: float, *, status: str = "succeeded", summary: Any = None,
         version: StrategyVersion | None = None, request: Any = None, parent: str | None = None) -> Run:
    run = Run(id=new_id(), user_id=user.id, kind="backtest", status=status, request=request or {},
              strategy_version_id=None if version is None else version.id, parent_id=parent,
              summary=summary, created_at=created_at)
    session.add(run)
    session.flush()
    return run


def _strategy(session: Any, user: User, name: str) -> StrategyVersion:
    strategy = Strategy(id=new_id(), user_id=user.id, name=name, created_at=0.0, updated_at=0.0)
    session.add(strategy)
    session.flush()
    version = StrategyVersion(id=new_id(), strategy_id=strategy.id, number=3, document={"name": name}, hash="h",
                              schema_version=3, created_at=0.0)
    session.add(version)
    session.flush()
    return version


def test_last_week_is_monday_to_monday_in_utc() -> None:
    assert last_week(AT) == (MONDAY - 7 * DAY, MONDAY)
    assert last_week(MONDAY) == (MONDAY - 7 * DAY, MONDAY)  # a week ends on the Monday it reaches
    assert last_week(MONDAY - 1) == (MONDAY - 14 * DAY, MONDAY - 7 * DAY)


def test_opted_in_users_get_last_weeks_runs(tmp_path: Path, sink: Sink, store: Store) -> None:
    with store.session() as session:
        ann = _user(session, "ann@example.com")
        bob = _user(session, "bob@example.com")
        _user(session, "cid@example.com", digest=False)
        version = _strategy(session, ann, "rsi <reversion>")
        sweep = _run(session, ann, MONDAY - 3 * DAY, summary={"total_return": 0.1234, "sharpe_ratio": 1.456},
                     version=version)
        _run(session, ann, MONDAY - 2 * DAY, status="failed", request={"document": {"name": "macd-trend"}},
             summary={"total_return": True, "sharpe_ratio": float("nan")})
        _run(session, ann, MONDAY - 2 * DAY, parent=sweep.id)  # a sweep's child is not a line of its own
        _run(session, ann, MONDAY - 8 * DAY, request={"document": {"name": "too-old"}})
        _run(session, ann, MONDAY + 60, request={"document": {"name": "this-week"}})
        _run(session, bob, MONDAY - DAY, summary={"total_return": -0.05}, request={"document": {"name": "b1"}})
        cid = session.scalars(sa.select(User).where(User.email == "cid@example.com")).one()
        _run(session, cid, MONDAY - DAY)
    sent = send_digests(_settings(tmp_path, sink.port), store, AT)
    assert sent == ["ann@example.com", "bob@example.com"]
    assert [(m.sender, m.recipients) for m in sink.mails] == [
        ("digest@backgrid.test", ["ann@example.com"]), ("digest@backgrid.test", ["bob@example.com"])]
    message = sink.mails[0].message
    assert message["Subject"] == "backgrid: your week, 2026-11-23 to 2026-11-29"
    assert message["To"] == "ann@example.com"
    assert message["Message-ID"].endswith("@backgrid.test>")
    page = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "<td>rsi &lt;reversion&gt; v3</td><td>backtest</td><td>succeeded</td><td>+12.34%</td><td>1.46</td>" in page
    assert "<td>macd-trend</td><td>backtest</td><td>failed</td><td></td><td></td>" in page
    assert "2 runs: 1 failed, 1 succeeded" in text
    for absent in ("too-old", "this-week"):
        assert absent not in page
    assert page.count("<tr>") == 3  # the head and two runs
    bobs = sink.mails[1].message.get_body(("plain",)).get_content()
    assert "b1 | backtest | succeeded | -5.00% |  | 2026-11-29" in bobs
    with store.session() as session:
        recorded = session.execute(sa.select(Event.user_id, Event.properties).where(Event.name == SENT)).all()
    assert sorted(recorded) == sorted([(ann.id, {"week": "2026-11-23", "runs": 2}),
                                       (bob.id, {"week": "2026-11-23", "runs": 1})])
    # again later in the week: nobody twice; next week: again
    assert send_digests(_settings(tmp_path, sink.port), store, AT + DAY) == []
    assert len(sink.mails) == 2
    with store.session() as session:
        _run(session, bob, MONDAY + DAY, request={"document": {"name": "b2"}})
    assert send_digests(_settings(tmp_path, sink.port), store, AT + 7 * DAY) == ["ann@example.com", "bob@example.com"]
    assert "this-week" in sink.mails[2].message.get_body(("html",)).get_content()


def test_a_refused_address_is_tried_again_and_the_others_are_sent(tmp_path: Path, sink: Sink, store: Store) -> None:
    with store.session() as session:
        for mail in ("ann@example.com", "bob@example.com"):
            _run(session, _user(session, mail), MONDAY - DAY)
    sink.refuse.add("ann@example.com")
    login = {"smtp_user": "backgrid", "smtp_password": "pw"}
    settings = _settings(tmp_path, sink.port, **login)
    assert send_digests(settings, store, AT) == ["bob@example.com"]
    assert sink.logins == [("backgrid", "pw")]
    sink.refuse.clear()
    assert send_digests(settings, store, AT + 3600) == ["ann@example.com"]


def test_nobody_due_needs_no_server(tmp_path: Path, store: Store) -> None:
    with store.session() as session:
        _user(session, "ann@example.com")  # opted in, ran nothing
    assert send_digests(Settings(home=tmp_path), store, AT) == []


def test_an_unreachable_server_is_named(tmp_path: Path, store: Store) -> None:
    with store.session() as session:
        _run(session, _user(session, "ann@example.com"), MONDAY - DAY)
    with pytest.raises(DigestError, match="smtp_host is not set"):
        send_digests(Settings(home=tmp_path), store, AT)
    with socketserver.TCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler) as other:
        closed = other.server_address[1]  # a port that nothing listens on once this block ends
    with pytest.raises(DigestError, match=rf"cannot reach the SMTP server at smtp_host='127.0.0.1' smtp_port={closed}"):
        send_digests(_settings(tmp_path, closed), store, AT)
    with store.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Event)) == 0


def test_compose_escapes_and_counts() -> None:
    message = compose("a@example.com", [], start=MONDAY - 7 * DAY, end=MONDAY, sender="s@example.com")
    assert "Your runs from 2026-11-23 to 2026-11-29. 0 runs.\n" in message.get_body(("plain",)).get_content()
    assert message["From"] == "s@example.com"
