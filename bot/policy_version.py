"""A version of a client's policy file as it is stored, with the client's answer to it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

ACKNOWLEDGED = ("baseline", "told", "approved")
"""States of a version the client has agreed to (or was only to be told of)."""


@dataclass(frozen=True)
class PolicyVersion:
    client_id: int
    policy: str
    version: str  # sha256 of the file's bytes, first 12 hex digits (Policy.version)
    content: str
    recorded_at: datetime
    state: str  # baseline, told, pending, approved, challenged, superseded
    message_id: str = ""
    decided_at: datetime | None = None
    decided_by: str = ""
    id: int | None = None

    @property
    def acknowledged(self) -> bool:
        return self.state in ACKNOWLEDGED
