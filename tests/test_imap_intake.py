"""The IMAP poller against real servers (pymap and Dovecot) on free ports, on both backends."""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from sqlmodel import col, select

from adapters.mail.imap import ImapConfig, ImapLoginError, ImapPoller
from adapters.mail.inbound import InboundStore
from adapters.storage import Database
from adapters.storage.tables import InboundRow, MailboxStateRow
from bot.clock import ManualClock
from tests.conftest import missing_peer
from tests.imap_servers import (
    Certificate,
    ImapAccount,
    ImapServer,
    ServerUnavailable,
    make_certificate,
    running_server,
)

SERVERS = ["pymap", "dovecot"]


def mail(n: int, body: bytes = b"The checkout page fails for every user.\r\n") -> bytes:
    return (b"From: Jo <jo@acme.example>\r\nTo: support@acme-provider.example\r\n"
            b"Subject: Incident " + str(n).encode() + b"\r\n"
            b"Message-ID: <m" + str(n).encode() + b"@acme.example>\r\n\r\n" + body)


ODD = (b"From: =?utf-8?q?Zo=C3=AB?= <zoe@b\xc3\xbccher.example>\r\n"
       b"Subject: Storing \xe2\x98\xb9\r\n"
       b"Message-ID: <odd@b\xc3\xbccher.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
       b".leading dot\r\nDe applicatie ligt plat \xe2\x98\xb9\r\n" + b"x" * 70 + b"\r\n") \
    + (b"y" * 998 + b"\r\n") * 40


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    try:
        return make_certificate(tmp_path_factory.mktemp("imap-tls"))
    except ServerUnavailable as e:
        missing_peer(str(e))
        raise


@pytest.fixture(scope="module", params=SERVERS)
def imap_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                certificate: Certificate) -> Iterator[ImapServer]:
    kind = request.param
    with ExitStack() as stack:
        try:
            server = stack.enter_context(
                running_server(kind, tmp_path_factory.mktemp(kind), certificate))
        except ServerUnavailable as e:
            missing_peer(f"IMAP server {kind}: {e}")
        yield server


@pytest.fixture
def account(imap_server: ImapServer) -> ImapAccount:
    """A login with an empty INBOX on the server under test."""
    try:
        return imap_server.account()
    except ServerUnavailable as e:
        missing_peer(f"IMAP server {imap_server.name}: {e}")
        raise


@pytest.fixture
def make_poller(database: Database, clock: ManualClock,
                account: ImapAccount) -> Iterator[Callable[..., ImapPoller]]:
    made: list[ImapPoller] = []

    def make(config: ImapConfig | None = None, **kw: Any) -> ImapPoller:
        on_stored = kw.pop("on_stored", None)
        cfg = config or account.config(**kw)
        poller = ImapPoller(cfg, InboundStore(database, clock), database, clock,
                            on_stored=on_stored)
        made.append(poller)
        return poller

    yield make
    for p in made:
        p.stop()
        p.close()


def rows(db: Database) -> list[InboundRow]:
    with db.session() as s:
        return list(s.exec(select(InboundRow).order_by(col(InboundRow.id))))


def position(db: Database, key: str) -> tuple[int, int] | None:
    with db.session() as s:
        row = s.get(MailboxStateRow, key)
        return None if row is None else (row.uidvalidity, row.last_uid)


def wait_for(check: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout}s: {what}")
        time.sleep(0.05)


# -- storing -------------------------------------------------------------------------------------


def test_new_messages_are_stored_once_each_in_uid_order_with_exact_bytes(
        account: ImapAccount, make_poller: Callable[..., ImapPoller], database: Database,
        clock: ManualClock) -> None:
    sent = [mail(1), ODD, mail(3)]
    uids = [account.append(raw) for raw in sent]
    poller = make_poller()
    assert poller.poll_once() == 3
    stored = rows(database)
    assert [r.raw for r in stored] == sent  # the exact bytes, in UID order
    key = f"{account.username}@127.0.0.1:{account.port}/INBOX"
    assert {(r.channel, r.peer, r.size, r.state) for r in stored} == {
        ("imap", key, len(r.raw), "pending") for r in stored}
    assert {r.received_at.replace(tzinfo=None) for r in stored} == {
        clock.now().replace(tzinfo=None)}
    assert position(database, key) == (account.uidvalidity(), max(uids))


def test_a_poll_with_nothing_new_stores_nothing(
        account: ImapAccount, make_poller: Callable[..., ImapPoller], database: Database) -> None:
    poller = make_poller()
    assert poller.poll_once() == 0  # an empty folder
    uid = account.append(mail(1))
    assert poller.poll_once() == 1
    # `UID SEARCH last+1:*` still answers the highest UID: it must not be stored again
    assert poller.poll_once() == 0
    assert poller.poll_once() == 0
    poller.close()
    assert make_poller().poll_once() == 0  # nor after a reconnect
    assert len(rows(database)) == 1
    assert position(database, poller.key) == (account.uidvalidity(), uid)


def test_fetching_does_not_mark_mail_seen(
        account: ImapAccount, make_poller: Callable[..., ImapPoller]) -> None:
    account.append(mail(1))
    account.append(mail(2))
    assert make_poller().poll_once() == 2
    flags = [f for _raw, f in account.messages().values()]
    assert len(flags) == 2
    assert all(b"\\Seen" not in f for f in flags)


def test_messages_appended_between_polls_are_picked_up(
        account: ImapAccount, make_poller: Callable[..., ImapPoller], database: Database) -> None:
    poller = make_poller()
    account.append(mail(1))
    assert poller.poll_once() == 1
    later = [account.append(mail(2)), account.append(mail(3))]
    assert poller.poll_once() == 2
    last = account.append(mail(4))
    assert last > later[-1]
    assert poller.poll_once() == 1
    assert [r.raw for r in rows(database)] == [mail(1), mail(2), mail(3), mail(4)]
    assert position(database, poller.key) == (account.uidvalidity(), last)


def test_move_to_moves_processed_mail_out_of_the_folder(
        account: ImapAccount, make_poller: Callable[..., ImapPoller], database: Database) -> None:
    account.append(mail(1))
    account.append(mail(2))
    poller = make_poller(move_to="Processed")
    assert poller.poll_once() == 2
    assert account.messages("INBOX") == {}
    assert [raw for raw, _f in account.messages("Processed").values()] == [mail(1), mail(2)]
    account.append(mail(3))
    assert poller.poll_once() == 1
    assert poller.poll_once() == 0
    assert account.messages("INBOX") == {}
    assert len(account.messages("Processed")) == 3
    assert [r.raw for r in rows(database)] == [mail(1), mail(2), mail(3)]


def test_a_new_uidvalidity_resyncs_and_stores_only_unseen_mail(
        account: ImapAccount, make_poller: Callable[..., ImapPoller], database: Database) -> None:
    account.append(mail(1))
    account.append(mail(2))
    poller = make_poller()
    assert poller.poll_once() == 2
    before = position(database, poller.key)
    poller.close()
    account.append(mail(3))  # arrives while the poller is away ...
    account.reset_uidvalidity()  # ... and the server renumbers the folder
    account.append(mail(4))
    validity = account.uidvalidity()
    assert before is not None and before[0] != validity
    assert poller.poll_once() == 2
    assert [r.raw for r in rows(database)] == [mail(1), mail(2), mail(3), mail(4)]
    assert position(database, poller.key) == (validity, max(account.messages()))
    assert poller.poll_once() == 0


def test_a_crash_between_two_messages_neither_loses_nor_duplicates(
        account: ImapAccount, make_poller: Callable[..., ImapPoller], database: Database) -> None:
    uids = [account.append(mail(n)) for n in (1, 2, 3)]

    class Crash(Exception):
        pass

    def crash(_inbound_id: int) -> None:
        raise Crash("the process died here")

    with pytest.raises(Crash):
        make_poller(on_stored=crash).poll_once()
    key = make_poller().key
    assert [r.raw for r in rows(database)] == [mail(1)]
    assert position(database, key) == (account.uidvalidity(), uids[0])
    assert make_poller().poll_once() == 2  # the restarted poller goes on after the stored one
    assert [r.raw for r in rows(database)] == [mail(1), mail(2), mail(3)]
    assert position(database, key) == (account.uidvalidity(), uids[2])


# -- failures and the loop -----------------------------------------------------------------------


def test_a_wrong_password_is_reported_and_the_loop_keeps_trying(
        account: ImapAccount, make_poller: Callable[..., ImapPoller],
        caplog: pytest.LogCaptureFixture) -> None:
    secret = "wr0ng-Pa55word"
    with pytest.raises(ImapLoginError) as exc:
        make_poller(password=secret).poll_once()
    message = str(exc.value)
    assert message.startswith(f"IMAP login failed for {account.username}@127.0.0.1: ")
    assert "AUTHENTICATIONFAILED" in message.upper() or "INVALID" in message.upper()
    assert secret not in message and "b'" not in message

    caplog.set_level(logging.INFO, logger="supportbot.imap")
    poller = make_poller(password=secret, backoff_initial=0.05, backoff_max=0.2)
    poller.start()

    def failures() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name == "supportbot.imap"
                and "IMAP login failed" in r.getMessage()]

    wait_for(lambda: len(failures()) >= 3, what="three logged login failures")
    assert poller.running
    assert all("\n" not in r.getMessage() for r in failures())
    assert secret not in caplog.text
    poller.stop()
    assert not poller.running


def test_idle_wakes_the_loop_for_new_mail(
        account: ImapAccount, make_poller: Callable[..., ImapPoller], database: Database) -> None:
    account.append(mail(1))
    poller = make_poller(poll_seconds=30, idle=True)
    poller.start()
    wait_for(lambda: len(rows(database)) == 1, what="the first message stored")
    wait_for(lambda: poller.idling, what="the poller idling")
    account.append(mail(2))
    # a poll would come only after 30 s: IDLE must bring it well before
    wait_for(lambda: len(rows(database)) == 2, timeout=10, what="IDLE to bring the new message")
    assert poller.running
    assert [r.raw for r in rows(database)] == [mail(1), mail(2)]
    stopped = threading.Event()
    threading.Thread(target=lambda: (poller.stop(), stopped.set()), daemon=True).start()
    assert stopped.wait(5)  # stop interrupts an IDLE promptly


def test_the_loop_reconnects_when_the_server_drops_the_connection(
        account: ImapAccount, make_poller: Callable[..., ImapPoller], database: Database,
        caplog: pytest.LogCaptureFixture) -> None:
    """Dovecot: ``doveadm kick`` (mail kept); pymap: a restart (its in-memory mail is lost and
    INBOX comes back under a new UIDVALIDITY)."""
    caplog.set_level(logging.INFO, logger="supportbot.imap")
    account.append(mail(1))
    poller = make_poller(poll_seconds=30, backoff_initial=0.05, backoff_max=0.2)
    poller.start()
    wait_for(lambda: len(rows(database)) == 1, what="the first message stored")
    wait_for(lambda: poller.idling, what="the poller idling")
    account.server.drop_connections(account)
    account.append(mail(2))
    wait_for(lambda: len(rows(database)) == 2, what="the message after the drop")
    assert poller.running
    assert [r.raw for r in rows(database)] == [mail(1), mail(2)]
    assert any("failed" in r.getMessage() for r in caplog.records
               if r.name == "supportbot.imap" and r.levelno == logging.ERROR)


# -- TLS -----------------------------------------------------------------------------------------


def test_tls_with_a_trusted_certificate(
        account: ImapAccount, make_poller: Callable[..., ImapPoller], database: Database) -> None:
    """Dovecot: implicit TLS on its 993-style listener; pymap: STARTTLS."""
    account.append(mail(1))
    assert make_poller(account.tls_config()).poll_once() == 1
    assert [r.raw for r in rows(database)] == [mail(1)]


def test_tls_refuses_an_untrusted_certificate(
        account: ImapAccount, make_poller: Callable[..., ImapPoller], database: Database) -> None:
    untrusting = ssl.create_default_context()  # the system CAs only: the test cert is unknown
    account.append(mail(1))
    with pytest.raises(ssl.SSLCertVerificationError):
        make_poller(account.tls_config(ssl_context=untrusting)).poll_once()
    assert rows(database) == []


# -- configuration -------------------------------------------------------------------------------


def test_config_hides_the_password_and_names_the_folder_key() -> None:
    cfg = ImapConfig(host="imap.example", username="support@acme-provider.example",
                     password="hunter2-secret", folder="Support")
    assert "hunter2-secret" not in repr(cfg)
    assert (cfg.port, cfg.tls, cfg.poll_seconds, cfg.idle) == (993, True, 60, True)
    assert cfg.key == "support@acme-provider.example@imap.example:993/Support"
    with pytest.raises(ValueError):
        ImapConfig(host="h", username="u", password="p", tls=True, starttls=True)
