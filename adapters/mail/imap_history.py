"""Reading a whole IMAP folder for ``supportbot import imap``: read only (``EXAMINE``, and
``BODY.PEEK[]`` never sets ``\\Seen``), oldest UID first, a batch of messages at a time. The
connection is the poller's (``adapters.mail.imap.connect``); the poller's folder position is
not touched, so a live poller of the same folder goes on as before (what it stores again is a
duplicate to the mail chain)."""

from __future__ import annotations

from collections.abc import Generator
from contextlib import suppress

from adapters.mail.imap import connect
from adapters.mail.imap_config import ImapConfig, ImapServerError
from adapters.mail.imap_messages import chunks
from bot.errors import ConfigError
from config.settings import Settings

FETCH_BATCH = 25


def imap_config(settings: Settings, folder: str | None = None) -> ImapConfig:
    """The ``[imap]`` account of ``settings`` (it need not be enabled), at ``folder``."""
    i = settings.imap
    for key, value in (("imap.host", i.host), ("imap.username", i.username)):
        if not value:
            raise ConfigError(settings.source, key, "'supportbot import imap' reads the "
                              "[imap] account: set it")
    return ImapConfig(host=i.host, port=i.port, username=i.username,
                      password=i.password.get_secret_value(), folder=folder or i.folder,
                      tls=i.security == "tls", starttls=i.security == "starttls")


def folder_messages(config: ImapConfig) -> tuple[int, Generator[bytes, None, None]]:
    """How many messages the folder holds, and the messages' raw bytes in UID order (a
    generator: close it to log out early)."""
    try:
        client = connect(config)
    except OSError as e:  # refused, unreachable, a TLS handshake that failed
        raise ImapServerError(f"IMAP {config.key}: cannot connect: {e}") from None
    try:
        if not client.folder_exists(config.folder):
            raise ImapServerError(f"IMAP {config.key}: no folder {config.folder!r}")
        client.select_folder(config.folder, readonly=True)
        uids = sorted(client.search("ALL"))
    except BaseException:
        with suppress(Exception):
            client.shutdown()
        raise

    def read() -> Generator[bytes, None, None]:
        try:
            for batch in chunks(uids, FETCH_BATCH):
                data = client.fetch(batch, ["BODY.PEEK[]"])
                for uid in batch:
                    raw = data.get(uid, {}).get(b"BODY[]")
                    if raw is not None:  # None: expunged meanwhile
                        yield raw
        finally:
            with suppress(Exception):
                client.logout()

    return len(uids), read()
