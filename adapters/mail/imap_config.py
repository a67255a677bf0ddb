"""What an IMAP poller is told: one folder on one account, and the errors that end a session."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field

from bot.errors import SupportbotError


@dataclass(frozen=True, kw_only=True)
class ImapConfig:
    """One folder on one IMAP account. ``tls`` is implicit TLS (port 993); ``starttls`` upgrades a
    plain connection instead. The password never appears in ``repr``."""

    host: str
    port: int = 993
    username: str
    password: str = field(repr=False)
    folder: str = "INBOX"
    tls: bool = True
    starttls: bool = False
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)
    move_to: str | None = None
    poll_seconds: float = 60
    idle: bool = True
    idle_renew_seconds: float = 25 * 60
    timeout: float = 30
    backoff_initial: float = 1
    backoff_max: float = 300

    def __post_init__(self) -> None:
        if self.tls and self.starttls:
            raise ValueError("choose implicit TLS (tls=True) or STARTTLS, not both")

    @property
    def key(self) -> str:
        """The folder's key in ``mailbox_state`` and the ``peer`` of its inbound rows."""
        return f"{self.username}@{self.host}:{self.port}/{self.folder}"


class ImapLoginError(SupportbotError):
    """The server refused the credentials (the message names user and host, never the password)."""


class ImapServerError(SupportbotError):
    """The server said something that ends the session (BYE, a missing UIDVALIDITY, ...)."""
