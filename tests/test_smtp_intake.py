"""The SMTP listener against real smtplib clients over sockets, on both storage backends."""

from __future__ import annotations

import smtplib
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import col, select

from adapters.mail.inbound import Accepted, InboundStore
from adapters.mail.smtp import SmtpIntake, SupportHandler, tls_context
from adapters.storage import Database
from adapters.storage.tables import InboundRow
from adapters.system_clock import SystemClock
from bot.clock import Clock, ManualClock
from tests.mailpeers import LoopThread, loop_thread

SUPPORT = "support@acme-provider.example"
MAIL = (b"From: Jo <jo@acme.example>\r\nTo: " + SUPPORT.encode() + b"\r\n"
        b"Subject: Checkout down\r\nMessage-ID: <m1@acme.example>\r\n\r\n"
        b"All users get errors.\r\n.leading dot line\r\n")


@dataclass
class Server:
    intake: SmtpIntake
    handler: SupportHandler
    store: InboundStore
    db: Database

    @property
    def port(self) -> int:
        return self.intake.port

    def client(self) -> smtplib.SMTP:
        return smtplib.SMTP("127.0.0.1", self.port, timeout=30)

    def rows(self) -> list[InboundRow]:
        with self.db.session() as s:
            return list(s.exec(select(InboundRow).order_by(col(InboundRow.id))))


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    with loop_thread() as lt:
        yield lt


@pytest.fixture
def serve(database: Database, loop: LoopThread) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def start(clock: Clock | None = None, **kw: object) -> Server:
        store = InboundStore(database, clock or SystemClock())
        store.start()
        handler = SupportHandler(store, [SUPPORT])
        intake = SmtpIntake(handler, "127.0.0.1", 0, **{"max_message_bytes": 1_000_000, **kw})
        loop.run(intake.start())
        server = Server(intake, handler, store, database)
        started.append(server)
        return server

    yield start
    for s in started:
        loop.run(s.intake.stop())
        s.store.stop()


@contextmanager
def writes_held(db: Database) -> Iterator[None]:
    """Hold the database's write lock from another connection, so no commit can go through."""
    with db.write_engine.begin() as conn:  # SQLite: BEGIN IMMEDIATE takes the write lock
        if db.dialect == "postgresql":
            conn.execute(text("LOCK TABLE inbound IN EXCLUSIVE MODE"))
        yield


def test_mail_for_support_is_stored_before_250(serve: Callable[..., Server]) -> None:
    # the night the clocks go forward in Brussels: a local time would show as an hour off
    arrived = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    srv = serve(clock=ManualClock(arrived))
    with srv.client() as c:
        c.ehlo("client.acme.example")
        code, msg = c.mail("jo@acme.example")
        assert code == 250
        assert c.rcpt(SUPPORT.upper())[0] == 250  # addresses compare case-insensitively
        code, msg = c.data(MAIL)
    assert code == 250 and b"queued as" in msg
    rows = srv.rows()
    assert len(rows) == 1
    row = rows[0]
    assert msg.endswith(str(row.id).encode())
    # the exact bytes, dot-stuffing undone
    assert row.raw == MAIL
    assert (row.channel, row.mail_from, row.rcpt_to) == ("smtp", "jo@acme.example",
                                                          [SUPPORT.upper()])
    assert row.state == "pending" and row.size == len(MAIL)
    # the store's clock, read back aware (a naive datetime never equals an aware one)
    assert row.received_at == arrived and row.received_at.utcoffset() is not None


def test_other_recipients_get_550_and_nothing_is_stored(serve: Callable[..., Server]) -> None:
    srv = serve()
    with srv.client() as c:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as exc:
            c.sendmail("spammer@example.net", ["victim@elsewhere.example"], MAIL)
        code, msg = exc.value.recipients["victim@elsewhere.example"]
        assert code == 550 and b"only takes mail for support" in msg
        # relaying is refused per recipient; the support address in the same mail still works
        refused = c.sendmail("jo@acme.example", ["other@elsewhere.example", SUPPORT], MAIL)
        assert set(refused) == {"other@elsewhere.example"}
    rows = srv.rows()
    assert [r.rcpt_to for r in rows] == [[SUPPORT]]


def test_oversize_mail_gets_552(serve: Callable[..., Server]) -> None:
    srv = serve(max_message_bytes=2_000)
    big = MAIL + (b"x" * 70 + b"\r\n") * 40
    with srv.client() as c:
        # a client that declares SIZE is refused at MAIL FROM ...
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            c.sendmail("jo@acme.example", [SUPPORT], big)
        assert refused.value.smtp_code == 552
        # ... one that does not is refused after DATA
        c.rset()
        assert c.mail("jo@acme.example")[0] == 250
        assert c.rcpt(SUPPORT)[0] == 250
        code, _ = c.data(big)
        assert code == 552
    assert srv.rows() == []


def test_a_long_line_is_taken_up_to_the_message_limit(serve: Callable[..., Server]) -> None:
    # one 5 MB line (a base64 blob without line breaks, an HTML body on one line)
    srv = serve(max_message_bytes=6_000_000)
    mail = MAIL + b"<p>" + b"x" * 5_000_000 + b"</p>\r\n"
    with srv.client() as c:
        assert c.sendmail("jo@acme.example", [SUPPORT], mail) == {}
    [row] = srv.rows()
    assert row.raw == mail


def test_beyond_the_limit_the_552_says_why(serve: Callable[..., Server]) -> None:
    srv = serve(max_message_bytes=100_000)
    one_line = MAIL + b"y" * 300_000 + b"\r\n"
    many_lines = MAIL + (b"z" * 998 + b"\r\n") * 200
    with srv.client() as c:
        c.ehlo("client.acme.example")
        for mail in (one_line, many_lines):
            assert c.mail("jo@acme.example")[0] == 250  # no SIZE declared: refused after DATA
            assert c.rcpt(SUPPORT)[0] == 250
            code, msg = c.data(mail)
            assert code == 552, msg
            assert msg == b"5.3.4 Message too big: over this server's limit of 100000 bytes"
        # the session goes on: the next mail is taken
        assert c.sendmail("jo@acme.example", [SUPPORT], MAIL) == {}
    assert [r.raw for r in srv.rows()] == [MAIL]


def test_smtputf8_mail_is_taken_byte_for_byte(serve: Callable[..., Server]) -> None:
    srv = serve()
    utf8 = ("From: Zoë <zoë@bücher.example>\r\nTo: " + SUPPORT + "\r\nSubject: Storing: "
            "alle gebruikers ☹\r\n\r\nDe applicatie ligt plat.\r\n").encode()
    with srv.client() as c:
        c.ehlo()
        assert c.has_extn("smtputf8")
        refused = c.sendmail("zoë@bücher.example", [SUPPORT], utf8,
                             mail_options=["SMTPUTF8"])
    assert refused == {}
    row = srv.rows()[0]
    assert row.raw == utf8 and row.mail_from == "zoë@bücher.example"


def test_storage_failure_gets_451_and_the_client_can_retry(serve: Callable[..., Server],
                                                            database: Database) -> None:
    srv = serve()
    with database.write_engine.begin() as conn:  # break the store for real: no inbound table
        conn.execute(text("ALTER TABLE inbound RENAME TO inbound_away"))
    with srv.client() as c, pytest.raises(smtplib.SMTPDataError) as exc:
        c.sendmail("jo@acme.example", [SUPPORT], MAIL)
    assert exc.value.smtp_code == 451
    assert srv.handler.deferred == 1
    with database.write_engine.begin() as conn:
        conn.execute(text("ALTER TABLE inbound_away RENAME TO inbound"))
    with srv.client() as c:
        assert c.sendmail("jo@acme.example", [SUPPORT], MAIL) == {}
    assert len(srv.rows()) == 1


def test_concurrent_clients_each_stored_exactly_once(serve: Callable[..., Server]) -> None:
    srv = serve()
    n_clients, per_client = 8, 6
    errors: list[BaseException] = []

    def client(i: int) -> None:
        try:
            with srv.client() as c:
                for j in range(per_client):
                    body = MAIL.replace(b"<m1@", f"<m{i}-{j}@".encode())
                    c.sendmail("jo@acme.example", [SUPPORT], body)
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(n_clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    ids = [r.raw.split(b"Message-ID: ")[1].split(b"\r\n")[0] for r in srv.rows()]
    assert len(ids) == n_clients * per_client == len(set(ids))
    assert srv.store.stored == srv.handler.accepted == n_clients * per_client


def test_messages_waiting_on_a_commit_share_the_next_one(serve: Callable[..., Server],
                                                        database: Database) -> None:
    """Group commit: what queues up while the database is busy goes in one transaction."""
    srv = serve()
    n = 20
    with writes_held(database):
        waiting = [srv.store.submit(Accepted(raw=MAIL.replace(b"<m1@", f"<g{i}@".encode()),
                                             channel="smtp")) for i in range(n)]
        assert not any(f.done() for f in waiting)  # nothing is acknowledged before its commit
    ids = [f.result(timeout=60) for f in waiting]
    assert len(set(ids)) == n and ids == sorted(ids)
    assert srv.store.stored == n
    # the first message may have begun a transaction of its own; the others share one
    assert srv.store.batches <= 2


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def test_starttls_is_offered_and_can_be_required(serve: Callable[..., Server],
                                                 certificate: tuple[Path, Path]) -> None:
    srv = serve(tls=tls_context(*certificate), require_starttls=True)
    client_ctx = ssl.create_default_context(cafile=str(certificate[0]))
    client_ctx.check_hostname = False
    with srv.client() as c:
        c.ehlo()
        assert c.has_extn("starttls")
        code, _ = c.mail("jo@acme.example")
        assert code == 530  # must issue STARTTLS first
    with srv.client() as c:
        c.starttls(context=client_ctx)
        assert c.sendmail("jo@acme.example", [SUPPORT], MAIL) == {}
    assert len(srv.rows()) == 1
