"""The policies a running bot knows, by name: built-in ones and those in configured folders."""

from __future__ import annotations

from pathlib import Path

from bot.sla.loader import load_policy
from bot.sla.policy import Policy


class PolicyBook:
    """Looks policies up by name, re-reading a file when it changes (``load_policy`` caches;
    it still looks at the file each time)."""

    def __init__(self, default: str = "panenco", search: tuple[Path, ...] = ()) -> None:
        self.default = default
        self.search = search

    def get(self, name: str | None = None) -> Policy:
        return load_policy(name or self.default, self.search)

    def snapshot(self) -> PolicyBook:
        """A book that reads each policy once and then keeps it: a batch of tickets is
        handled under one version of each policy, without looking at the files per ticket."""
        return PolicySnapshot(self.default, self.search)


class PolicySnapshot(PolicyBook):
    """``PolicyBook.snapshot``; for one thread, for a short while (a batch)."""

    def __init__(self, default: str = "panenco", search: tuple[Path, ...] = ()) -> None:
        super().__init__(default, search)
        self._held: dict[str, Policy] = {}

    def get(self, name: str | None = None) -> Policy:
        key = name or self.default
        held = self._held.get(key)
        if held is None:
            held = self._held[key] = load_policy(key, self.search)
        return held

    def snapshot(self) -> PolicyBook:
        return self
