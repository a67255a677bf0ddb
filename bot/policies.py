"""The policies a running bot knows, by name: built-in ones and those in configured folders."""

from __future__ import annotations

from pathlib import Path

from bot.sla.loader import load_policy
from bot.sla.policy import Policy


class PolicyBook:
    """Looks policies up by name, re-reading a file when it changes (``load_policy`` caches)."""

    def __init__(self, default: str = "panenco", search: tuple[Path, ...] = ()) -> None:
        self.default = default
        self.search = search

    def get(self, name: str | None = None) -> Policy:
        return load_policy(name or self.default, self.search)
