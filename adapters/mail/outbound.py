"""Sending the outbox through the configured relay, with retries and backoff.

The mail kind of the one outbox (``adapters.outbox``): a mail is claimed by this process before
it is handed to the relay, and the relay's 250 to DATA is recorded before anything else, inside
smtplib's DATA and before QUIT (``Receipt``: on PostgreSQL ``sent`` is written before the final
dot and committed the instant the 250 is read; on SQLite the row id is noted in the owner's
journal with one ``write``, then ``sent`` is committed). Refusals and errors are recorded after
the connection is closed. A backlog is sent batch after batch without waiting for the poll.

A row left "sending" by a process that died is settled as soon as any sender looks (the
owner's lock tells it is gone: ``adapters.outbox.owner``): noted as accepted, it is sent;
otherwise it goes again with the same bytes, so the same Message-ID. An SMTP relay cannot be
asked whether it has a message, and a lost acknowledgement is worse than a second one with the
same Message-ID, which mail clients fold and deduplicating relays drop. That second one
happens only when the process is killed after the final dot reached the relay and before its
250 was read back: the relay's own work on the message plus the way back (about a millisecond
on loopback, more on a busy machine; ``tests/test_outbox_crash.py`` counts these kills). The
bot's own part after the 250 is one ``write`` (SQLite) or one COMMIT message (PostgreSQL).
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import col, select

from adapters.outbox.delivery import Failure, Outbox, Receipt, RetryPolicy
from adapters.storage import Database
from adapters.storage.outbox import OutboxItem
from adapters.storage.tables import OutboxRow
from bot.clock import Clock

log = logging.getLogger("supportbot.outbox")

BACKOFF = (60, 300, 900, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600)
"""Seconds before each retry; after the last one the mail is marked failed."""
STALE_SENDING = timedelta(minutes=10)
POLICY = RetryPolicy(BACKOFF, STALE_SENDING)


@dataclass(frozen=True)
class Relay:
    host: str
    port: int = 25
    username: str | None = None
    password: str | None = None
    security: str = "none"  # "none", "starttls", "tls"
    timeout: float = 30.0
    ssl_context: ssl.SSLContext | None = None

    def __repr__(self) -> str:  # never show the password
        return f"Relay({self.host}:{self.port}, security={self.security})"


class OutboxSender:
    """Sends due outbox rows; ``send_due()`` once, or ``start()`` a thread that keeps at it."""

    def __init__(self, db: Database, clock: Clock, relay: Relay | None,
                 *, interval: float = 5.0) -> None:
        self.db = db
        self.clock = clock
        self.relay = relay
        self.interval = interval
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.on_sent: Callable[[int], None] | None = None
        self.outbox = Outbox(db, clock, "mail", POLICY)

    def send_due(self, limit: int = 50) -> int:
        """Send what is due now, batch after batch until none is left (a backlog does not
        wait for the next poll); returns how many were sent."""
        if self.relay is None:
            return 0
        sent = 0
        while not self._stop.is_set():
            due = self.outbox.due(limit)
            for row_id in due:
                if self._stop.is_set():
                    break
                item = self.outbox.claim(row_id)
                if item is not None:
                    sent += self._send(item)
            if len(due) < limit:
                break
        return sent

    def _send(self, item: OutboxItem) -> int:
        failure: Failure | None = None
        accepted = False
        try:
            accepted = self._deliver(item)
        except smtplib.SMTPRecipientsRefused as e:
            codes = [c for c, _ in e.recipients.values()]
            failure = Failure(f"recipients refused: {e.recipients}",
                              permanent=all(c >= 500 for c in codes))
        except smtplib.SMTPResponseException as e:
            failure = Failure(f"{e.smtp_code} {e.smtp_error!r}", permanent=e.smtp_code >= 500)
        except (OSError, smtplib.SMTPException) as e:
            failure = Failure(f"{type(e).__name__}: {e}")
        if accepted:  # recorded already; what failed after the 250 (QUIT) does not count
            if self.on_sent is not None:
                self.on_sent(item.id)
            return 1
        state = self.outbox.record(item, failure or Failure("the relay did not answer DATA"))
        log.warning("outbound mail not sent", extra={"outbox": item.id,
                                                     "error": failure.error if failure else "",
                                                     "state": state})
        return 0

    def _deliver(self, item: OutboxItem) -> bool:
        """Hand the mail to the relay; True once its 250 to DATA is recorded."""
        r = self.relay
        assert r is not None
        ctx = r.ssl_context or ssl.create_default_context()
        cls = _ReceiptSMTPSSL if r.security == "tls" else _ReceiptSMTP
        kwargs = {"context": ctx} if r.security == "tls" else {}
        receipt = self.outbox.receipt(item)
        smtp = cls(r.host, r.port, timeout=r.timeout, **kwargs)  # type: ignore[arg-type]
        try:
            if r.security == "starttls":
                smtp.starttls(context=ctx)
            if r.username:
                smtp.login(r.username, r.password or "")
            smtp.receipt = receipt
            smtp.sendmail(item.sender, list(item.recipients), item.raw)
        finally:
            receipt.close()
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
        return True

    # -- the thread --------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.send_due()
            except Exception:
                log.exception("outbox run failed")
            self.wake.wait(self.interval)
            self.wake.clear()


class _Receipted(smtplib.SMTP):
    """DATA with the receipt: made ready before the final dot goes, written the instant the
    relay's 250 is read (``adapters.outbox.delivery.Receipt``), before smtplib returns."""

    receipt: Receipt | None = None

    def data(self, msg: bytes | str) -> tuple[int, bytes]:
        code, repl = self.docmd("data")
        if code != 354:
            raise smtplib.SMTPDataError(code, repl)
        raw = msg.encode("ascii") if isinstance(msg, str) else msg
        body = _LEADING_DOT.sub(b"..", raw)
        self.send(body if body.endswith(b"\r\n") else body + b"\r\n")
        if self.receipt is not None:
            self.receipt.ready()
        self.send(b".\r\n")
        code, answer = self.getreply()
        if code == 250 and self.receipt is not None:
            self.receipt.accepted()
        return code, answer


class _ReceiptSMTP(_Receipted):
    pass


class _ReceiptSMTPSSL(_Receipted, smtplib.SMTP_SSL):
    pass


_LEADING_DOT = re.compile(rb"(?m)^\.")


def outbox_rows(db: Database, state: str | None = None, limit: int = 100) -> list[OutboxRow]:
    """The mail rows of the outbox, newest first."""
    with db.session() as s:
        q = select(OutboxRow).where(OutboxRow.kind == "mail")
        if state:
            q = q.where(OutboxRow.state == state)
        return list(s.exec(q.order_by(col(OutboxRow.id).desc()).limit(limit)))
