"""The exceptions the core raises, as one tree so callers can catch at the level they need.

    SupportbotError                 anything supportbot raises on purpose
    ├── ConfigError                 a settings file or variable is wrong (names file and key)
    │   └── PolicyError             a policy file is wrong (names file and key)
    ├── NotFound                    no such ticket, client or staff member
    ├── InvalidAction               the action does not fit the ticket's state (e.g. resolve twice)
    ├── StorageError                the store failed; the operation may be retried
    │   └── BatchAborted            a batch could not undo one item alone; redo it item by item
    └── ListenError                 a listener cannot have its address (port in use, say)

Entry points turn these into one clear line and a non-zero exit; they never show a traceback
for a user's mistake.
"""

from __future__ import annotations


class SupportbotError(Exception):
    """Base of every error supportbot raises on purpose."""


class ConfigError(SupportbotError):
    """A configuration mistake: the message names the file (or variable), the key and the reason."""

    def __init__(self, source: str, key: str, reason: str) -> None:
        self.source = source
        self.key = key
        self.reason = reason
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {reason}")


class PolicyError(ConfigError):
    """A policy file that cannot be loaded."""


class NotFound(SupportbotError):
    """A ticket, client or staff member that does not exist."""


class InvalidAction(SupportbotError):
    """An action that does not fit the current state of a ticket."""


class StorageError(SupportbotError):
    """The store could not complete an operation; it is safe to retry."""


class BatchAborted(StorageError):
    """Several items shared one transaction and one of them failed after part of it had
    reached the database: the transaction is lost; redo the items one per transaction."""


class ListenError(SupportbotError):
    """A listener cannot have the address it is configured with: the message names the
    address, the setting and where the settings came from."""
