"""The SMTP listener against real smtplib clients over sockets, on both storage backends."""

from __future__ import annotations

import smtplib
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import col, select

from adapters.mail.inbound import InboundStore
from adapters.mail.smtp import SmtpIntake, SupportHandler, tls_context
from adapters.storage import Database
from adapters.storage.tables import InboundRow
from adapters.system_clock import SystemClock
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

    def start(**kw: object) -> Server:
        store = InboundStore(database, SystemClock())
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


def test_mail_for_support_is_stored_before_250(serve: Callable[..., Server]) -> None:
    srv = serve()
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
    assert row.received_at.tzinfo is not None or srv.db.dialect == "sqlite"


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
    assert srv.store.stored == n_clients * per_client
    assert srv.store.batches <= srv.store.stored


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
