"""The IMAP poller: takes mail from a folder on a mail server, for installs where support@ lives
on a server rather than behind our own SMTP listener.

Each message is fetched with ``BODY.PEEK[]`` (fetching never sets ``\\Seen``) and handed to the
inbound store together with the folder position ``(uidvalidity, uid)``: the raw bytes and the
position are committed in one transaction, so a crash between two messages neither loses nor
duplicates one. When the server reports a new UIDVALIDITY, the old UIDs mean nothing any more:
the whole folder is read again and messages already stored for this folder are skipped, by
content hash or by Message-ID plus body hash.

IMAP IDLE is only a wake-up hint (imapclient's ``idle_check`` can read half a line, upstream
bug #519): the poller still polls every ``poll_seconds``, re-IDLEs before ``idle_renew_seconds``
and, on any error, drops the connection, backs off and resyncs by UID. imapclient is synchronous
and not thread safe: a poller owns its connection and runs in one thread.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from contextlib import suppress

from imapclient import IMAPClient
from imapclient.exceptions import LoginError
from sqlmodel import col, select

from adapters.mail.imap_config import ImapConfig, ImapLoginError, ImapServerError
from adapters.mail.imap_messages import address, chunks, fingerprints, headers_of
from adapters.mail.inbound import Accepted, InboundStore, MailboxPosition
from adapters.storage import Database
from adapters.storage.tables import InboundRow, MailboxStateRow
from bot.clock import Clock

log = logging.getLogger("supportbot.imap")

CHANNEL = "imap"
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


class ImapPoller:
    """Polls one folder; ``poll_once()`` from any one thread, or ``start()``/``stop()``."""

    fetch_batch = 25
    """UIDs fetched per FETCH command: bounded memory, few round trips."""
    stop_check_seconds = 0.5
    """How often an IDLE wait looks at the stop event."""

    def __init__(self, config: ImapConfig, store: InboundStore, db: Database, clock: Clock, *,
                 on_stored: Callable[[int], None] | None = None) -> None:
        self.config = config
        self.store = store
        self.db = db
        self.clock = clock
        self.on_stored = on_stored
        self.key = config.key
        self._client: IMAPClient | None = None
        self._idling = False
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        if not (config.tls or config.starttls) and config.host not in _LOOPBACK:
            log.warning("IMAP %s: no TLS; the password crosses the network in clear", self.key)

    def __repr__(self) -> str:
        return f"ImapPoller({self.key!r})"

    # -- one pass ----------------------------------------------------------------------------

    def poll_once(self) -> int:
        """Store every message not stored yet; returns how many were stored.

        Raises ImapLoginError for refused credentials, and whatever the connection or the store
        raised otherwise; the connection is then closed and the next call starts afresh.
        """
        try:
            return self._poll(self._connect())
        except BaseException:
            self.close(graceful=False)
            raise

    def _poll(self, client: IMAPClient) -> int:
        cfg = self.config
        info = client.select_folder(cfg.folder, readonly=cfg.move_to is None)
        if b"UIDVALIDITY" not in info:
            raise ImapServerError(f"IMAP {self.key}: the server gave no UIDVALIDITY")
        uidvalidity = int(info[b"UIDVALIDITY"])
        state = self._read_state()
        resync = state is None or state.uidvalidity != uidvalidity
        last = 0 if resync or state is None else state.last_uid
        if state is not None and resync:
            log.warning("IMAP %s: UIDVALIDITY changed from %d to %d; reading the whole folder "
                        "again and skipping messages already stored", self.key,
                        state.uidvalidity, uidvalidity)
        # the search always answers at least the highest UID, even when it is not above `last`
        uids = sorted(u for u in client.search(["UID", f"{last + 1}:*"]) if u > last)
        known = self._stored_fingerprints() if resync else None
        stored = skipped = 0
        for batch in chunks(uids, self.fetch_batch):
            data = client.fetch(batch, ["BODY.PEEK[]"])
            skipped_to = 0
            for uid in batch:
                raw = data.get(uid, {}).get(b"BODY[]")
                if raw is None:  # expunged meanwhile
                    log.warning("IMAP %s: UID %d vanished before it could be read", self.key, uid)
                    continue
                position = MailboxPosition(self.key, uidvalidity, uid)
                if known is not None and not known.isdisjoint(fingerprints(raw)):
                    skipped += 1
                    skipped_to = uid
                    continue
                inbound_id = self.store.accept_now(self._accepted(raw), position)
                stored += 1
                skipped_to = 0
                if self.on_stored is not None:
                    self.on_stored(inbound_id)
            if skipped_to:  # the batch ended on already-stored mail: don't read it again
                self._advance(MailboxPosition(self.key, uidvalidity, skipped_to))
        if skipped:
            log.info("IMAP %s: skipped %d message(s) stored before", self.key, skipped)
        if resync and not uids:  # an empty folder under a new UIDVALIDITY: remember it
            self._advance(MailboxPosition(self.key, uidvalidity, 0))
        if cfg.move_to is not None:
            self._move_processed(client, uidvalidity)
        if stored:
            log.info("IMAP %s: stored %d message(s)", self.key, stored)
        return stored

    def _accepted(self, raw: bytes) -> Accepted:
        headers = headers_of(raw)
        mail_from = address(headers.get("Return-Path", ""))
        rcpt = tuple(address(v) for name in ("Delivered-To", "X-Original-To")
                     for v in headers.get_all(name, []) if address(v))
        return Accepted(raw=raw, channel=CHANNEL, peer=self.key, mail_from=mail_from,
                        rcpt_to=tuple(dict.fromkeys(rcpt)))

    def _move_processed(self, client: IMAPClient, uidvalidity: int) -> None:
        """Move every message at or below the stored position out of the folder (also those
        stored by a pass that died before it could move them)."""
        state = self._read_state()
        if state is None or state.uidvalidity != uidvalidity or state.last_uid < 1:
            return
        done = sorted(u for u in client.search(["UID", f"1:{state.last_uid}"])
                      if u <= state.last_uid)
        if not done:
            return
        target = self.config.move_to
        assert target is not None
        if not client.folder_exists(target):
            client.create_folder(target)
        if client.has_capability("MOVE"):
            client.move(done, target)
        else:
            client.copy(done, target)
            client.add_flags(done, [b"\\Deleted"])
            if client.has_capability("UIDPLUS"):
                client.uid_expunge(done)
            else:
                client.expunge()
        log.info("IMAP %s: moved %d message(s) to %s", self.key, len(done), target)

    # -- the stored position -----------------------------------------------------------------

    def _read_state(self) -> MailboxStateRow | None:
        with self.db.session() as s:
            return s.get(MailboxStateRow, self.key)

    def _advance(self, p: MailboxPosition) -> None:
        """Advance the position past messages that were skipped (nothing to store with it)."""
        self.store.advance(p)

    def _stored_fingerprints(self) -> set[str]:
        """Fingerprints of every message already stored from this folder (for a resync)."""
        known: set[str] = set()
        with self.db.session() as s:
            query = (select(InboundRow.raw)
                     .where(InboundRow.channel == CHANNEL, InboundRow.peer == self.key)
                     .order_by(col(InboundRow.id))
                     .execution_options(yield_per=200))
            for raw in s.exec(query):
                known.update(fingerprints(raw))
        return known

    # -- the connection ----------------------------------------------------------------------

    def _connect(self) -> IMAPClient:
        if self._client is None:
            self._client = connect(self.config)
        return self._client

    def _server_message(self, e: BaseException) -> str:
        return server_message(self.config, e)

    def close(self, *, graceful: bool = True) -> None:
        """Drop the connection (LOGOUT when it is healthy and not idling)."""
        client, self._client = self._client, None
        idling, self._idling = self._idling, False
        if client is None:
            return
        if graceful and not idling:
            try:
                client.logout()
                return
            except Exception as e:
                log.debug("IMAP %s: logout failed: %s", self.key, e)
        with suppress(Exception):
            client.shutdown()

    # -- the loop ----------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Poll, wait (IDLE or sleep), repeat until ``stop`` is set; errors back off and retry."""
        cfg = self.config
        delay = cfg.backoff_initial
        try:
            while not stop.is_set():
                try:
                    self.poll_once()
                    delay = cfg.backoff_initial
                    self._wait(stop)
                except Exception as e:
                    self.close(graceful=False)
                    if isinstance(e, ImapLoginError):
                        log.error("%s; retrying in %gs", e, delay)
                    else:
                        log.error("IMAP %s failed: %s: %s; reconnecting in %gs", self.key,
                                  type(e).__name__, self._one_line(e), delay)
                    stop.wait(delay)
                    delay = min(delay * 2, cfg.backoff_max)
        finally:
            self.close()

    def _one_line(self, e: BaseException) -> str:
        orig = getattr(e, "orig", None) or e  # a database error: the driver's message only
        text = " ".join(str(orig).split()) or "no details"
        if self.config.password:
            text = text.replace(self.config.password, "***")
        return text

    def _wait(self, stop: threading.Event) -> None:
        """Until new mail, ``poll_seconds`` or ``stop``: IDLE when the server has it."""
        cfg = self.config
        client = self._client
        if not (cfg.idle and client is not None and client.has_capability("IDLE")):
            stop.wait(cfg.poll_seconds)
            return
        deadline = time.monotonic() + cfg.poll_seconds
        while not stop.is_set() and time.monotonic() < deadline:
            renew_at = min(deadline, time.monotonic() + cfg.idle_renew_seconds)
            client.idle()
            self._idling = True
            woke = self._idle_until(client, stop, renew_at)
            client.idle_done()
            self._idling = False
            if woke:
                return

    def _idle_until(self, client: IMAPClient, stop: threading.Event, until: float) -> bool:
        """True when the server announced new mail, or when something odd happened that a
        poll should look into; False at ``until`` or on ``stop``."""
        while not stop.is_set():
            remaining = until - time.monotonic()
            if remaining <= 0:
                return False
            wait = min(remaining, self.stop_check_seconds)
            began = time.monotonic()
            responses = client.idle_check(timeout=wait)
            for resp in responses:
                if resp and resp[0] == b"BYE":
                    raise ImapServerError(f"the server ended the session: {resp[1:]!r}")
                if len(resp) > 1 and resp[1] == b"EXISTS":
                    return True
            if not responses and time.monotonic() - began < wait / 2:
                # the socket was readable but gave no whole response: the connection closed
                # (imapclient swallows EOF here) or a line came in halves (upstream #519).
                # Leaving IDLE fails on a dead connection (-> reconnect), else a poll follows.
                log.debug("IMAP %s: IDLE woke without a response; polling", self.key)
                return True
        return False

    # -- as a thread -------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.run, args=(self._stop,),
                                        name=f"imap-{self.config.folder}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def idling(self) -> bool:
        """True while the connection waits in IDLE (for tests and health checks)."""
        return self._idling

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


__all__ = ["CHANNEL", "ImapConfig", "ImapLoginError", "ImapPoller", "ImapServerError"]


def connect(cfg: ImapConfig) -> IMAPClient:
    """A client logged in to ``cfg``'s account (TLS as configured); raises ImapLoginError when
    the credentials are refused. Also used by ``supportbot import imap``."""
    client = IMAPClient(cfg.host, port=cfg.port, use_uid=True, ssl=cfg.tls,
                        ssl_context=cfg.ssl_context, timeout=cfg.timeout)
    try:
        if cfg.starttls:
            client.starttls(cfg.ssl_context)
        try:
            client.login(cfg.username, cfg.password)
        except LoginError as e:
            raise ImapLoginError(f"IMAP login failed for {cfg.username}@{cfg.host}: "
                                 f"{server_message(cfg, e)}") from None
    except BaseException:
        with suppress(Exception):
            client.shutdown()
        raise
    return client


def server_message(cfg: ImapConfig, e: BaseException) -> str:
    """What the server said, in one line, with the password never in it."""
    orig = e.__context__ if e.__context__ is not None else e
    arg = orig.args[0] if orig.args else str(orig)
    text = arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)
    text = re.sub(r"^b(['\"])(.*)\1$", r"\2", text.strip())
    if cfg.password:
        text = text.replace(cfg.password, "***")
    return text or type(orig).__name__
