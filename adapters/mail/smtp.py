"""The SMTP listener: an aiosmtpd handler that takes mail for the support addresses only.

Recipients are checked at RCPT (550 for anything else: never an open relay); aiosmtpd enforces
the size limit (552, at MAIL FROM for a declared SIZE, else after DATA); a line may be as long
as the message. At DATA the raw bytes are committed through the inbound store before the
250; if that fails the client hears 451 and tries again later. Parsing and ticketing happen
afterwards, from storage.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from adapters.mail.inbound import Accepted, InboundStore
from bot.errors import StorageError

log = logging.getLogger("supportbot.smtp")


class SupportHandler:
    """aiosmtpd handler: RCPT checks the address, DATA stores the message durably."""

    def __init__(self, store: InboundStore, addresses: Iterable[str]) -> None:
        self.store = store
        self.addresses = frozenset(a.strip().lower() for a in addresses)
        self.accepted = 0
        self.deferred = 0

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if address.strip().lower() not in self.addresses:
            return "550 5.1.1 Mailbox unavailable: this server only takes mail for support"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if isinstance(raw, str):  # only with decode_data=True, which we never set
            raw = raw.encode("utf-8", "surrogateescape")
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer or "")
        reverse_path = envelope.mail_from or ""
        item = Accepted(raw=raw, channel="smtp", peer=peer,
                        mail_from="" if reverse_path == "<>" else reverse_path,  # null path
                        rcpt_to=tuple(envelope.rcpt_tos))
        try:
            inbound_id = await self.store.accept(item)
        except StorageError as e:
            self.deferred += 1
            log.error("deferred a message from %s: %s", peer, e)
            return "451 4.3.0 Could not store the message; please try again later"
        self.accepted += 1
        return f"250 2.0.0 OK: queued as {inbound_id}"


_AIOSMTPD_TOO_BIG = ("500 Line too long", "552 Error: Too much mail data")
"""What aiosmtpd 1.4 answers at the end of DATA when the message is over the limit."""


class TolerantSMTP(SMTP):
    """aiosmtpd's server with room for long lines, and a 552 that says why.

    RFC 5321 caps a line at 1000 octets but lets a server be liberal (4.5.3.1), and real
    clients send longer ones (an HTML body or a base64 blob on one line); MTAs such as Postfix
    take them. So a line may be as long as the message: aiosmtpd's reader limit
    (``line_length_limit``, which also bounds what one connection buffers) is the message
    limit plus the line end and a stuffed dot. A line over that is in a message over the limit,
    so aiosmtpd's "500 Line too long" and "552 Error: Too much mail data" both become one 552
    naming the limit.
    """

    def __init__(self, handler: Any, *, data_size_limit: int, **kw: Any) -> None:
        self.line_length_limit = data_size_limit + 3  # read by SMTP.__init__ for its reader
        self.too_big = (f"552 5.3.4 Message too big: over this server's limit of "
                        f"{data_size_limit} bytes")
        super().__init__(handler, data_size_limit=data_size_limit, **kw)

    async def push(self, status: str | bytes) -> None:
        if isinstance(status, str) and status.startswith(_AIOSMTPD_TOO_BIG):
            status = self.too_big
        await super().push(status)


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


class SmtpIntake:
    """Serves ``SupportHandler`` on the running event loop (``await start()``/``stop()``)."""

    def __init__(self, handler: SupportHandler, host: str, port: int, *,
                 max_message_bytes: int, hostname: str | None = None,
                 tls: ssl.SSLContext | None = None, require_starttls: bool = False) -> None:
        self.handler = handler
        self.host, self.port = host, port
        self._kw: dict[str, Any] = {
            "data_size_limit": max_message_bytes, "enable_SMTPUTF8": True,
            "hostname": hostname, "tls_context": tls, "require_starttls": require_starttls,
            "ident": "supportbot ESMTP",
        }
        self._server: asyncio.AbstractServer | None = None

    async def start(self, sock: socket.socket | None = None) -> None:
        """Listen on ``sock`` if given (bound already, see ``adapters/listen.py``), else on
        the host and port."""
        loop = asyncio.get_running_loop()

        def protocol() -> TolerantSMTP:
            return TolerantSMTP(self.handler, **self._kw)

        if sock is not None:
            self._server = await loop.create_server(protocol, sock=sock)
            self.port = sock.getsockname()[1]
        else:
            self._server = await loop.create_server(protocol, self.host, self.port)
        if self.port == 0:
            self.port = self._server.sockets[0].getsockname()[1]
        log.info("SMTP intake listening", extra={"host": self.host, "port": self.port,
                                                 "addresses": ",".join(
                                                     sorted(self.handler.addresses))})

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
