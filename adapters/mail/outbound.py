"""Sending the outbox through the configured relay, with retries and backoff.

A mail is claimed (pending -> sending, in its own committed transaction) before it is handed to
the relay, so two senders never send the same row; after the relay's answer it is marked sent,
or put back with a later attempt time. A row left "sending" by a crash is retried once it is
stale: the relay may or may not have it, and sending again with the same Message-ID is the
safer side (mail clients fold duplicates by Message-ID; a lost acknowledgement is not found).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col, select

from adapters.storage import Database
from adapters.storage.tables import OutboxRow
from adapters.storage.writelock import WriteTurn
from bot.clock import Clock

log = logging.getLogger("supportbot.outbox")

BACKOFF = (60, 300, 900, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600)
"""Seconds before each retry; after the last one the mail is marked failed."""
STALE_SENDING = timedelta(minutes=10)


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

    def send_due(self, limit: int = 50) -> int:
        """Send what is due now; returns how many were sent."""
        if self.relay is None:
            return 0
        sent = 0
        for row_id in self._due(limit):
            if self._claim(row_id):
                sent += self._send(row_id)
        return sent

    def _due(self, limit: int) -> list[int]:
        now = self.clock.now()
        with self.db.session() as s:
            q = select(OutboxRow.id).where(
                (col(OutboxRow.state) == "pending") & (col(OutboxRow.next_attempt_at) <= now)
                | (col(OutboxRow.state) == "sending")
                & (col(OutboxRow.next_attempt_at) <= now - STALE_SENDING)
            ).order_by(col(OutboxRow.id)).limit(limit)
            return [i for i in s.exec(q) if i is not None]

    def _claim(self, row_id: int) -> bool:
        now = self.clock.now()
        with WriteTurn(self.db), self.db.session(write=True) as s:
            result = s.exec(update(OutboxRow).where(  # type: ignore[call-overload]
                col(OutboxRow.id) == row_id,
                (col(OutboxRow.state) == "pending")
                | ((col(OutboxRow.state) == "sending")
                   & (col(OutboxRow.next_attempt_at) <= now - STALE_SENDING)),
            ).values(state="sending", next_attempt_at=now))
            s.commit()
            return bool(result.rowcount)

    def _send(self, row_id: int) -> int:
        assert self.relay is not None
        with self.db.session() as s:
            row = s.get(OutboxRow, row_id)
            assert row is not None
            sender, recipients, raw = row.sender, list(row.recipients), row.raw
        error = ""
        permanent = False
        try:
            self._deliver(sender, recipients, raw)
        except smtplib.SMTPRecipientsRefused as e:
            codes = [c for c, _ in e.recipients.values()]
            error, permanent = f"recipients refused: {e.recipients}", all(c >= 500 for c in codes)
        except smtplib.SMTPResponseException as e:
            error, permanent = f"{e.smtp_code} {e.smtp_error!r}", e.smtp_code >= 500
        except (OSError, smtplib.SMTPException) as e:
            error = f"{type(e).__name__}: {e}"
        now = self.clock.now()
        with WriteTurn(self.db), self.db.session(write=True) as s:
            row = s.get(OutboxRow, row_id)
            assert row is not None
            row.attempts += 1
            if not error:
                row.state, row.sent_at, row.last_error = "sent", now, ""
            elif permanent or row.attempts > len(BACKOFF):
                row.state, row.last_error = "failed", error
            else:
                row.state, row.last_error = "pending", error
                row.next_attempt_at = now + timedelta(seconds=BACKOFF[row.attempts - 1])
            s.add(row)
            s.commit()
            state = row.state
        if error:
            log.warning("outbound mail not sent", extra={"outbox": row_id, "error": error,
                                                         "state": state})
            return 0
        if self.on_sent is not None:
            self.on_sent(row_id)
        return 1

    def _deliver(self, sender: str, recipients: list[str], raw: bytes) -> None:
        r = self.relay
        assert r is not None
        ctx = r.ssl_context or ssl.create_default_context()
        cls = smtplib.SMTP_SSL if r.security == "tls" else smtplib.SMTP
        kwargs = {"context": ctx} if r.security == "tls" else {}
        with cls(r.host, r.port, timeout=r.timeout, **kwargs) as smtp:  # type: ignore[arg-type]
            if r.security == "starttls":
                smtp.starttls(context=ctx)
            if r.username:
                smtp.login(r.username, r.password or "")
            smtp.sendmail(sender, recipients, raw)

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


def outbox_rows(db: Database, state: str | None = None, limit: int = 100) -> list[OutboxRow]:
    with db.session() as s:
        q = select(OutboxRow)
        if state:
            q = q.where(OutboxRow.state == state)
        return list(s.exec(q.order_by(col(OutboxRow.id).desc()).limit(limit)))
