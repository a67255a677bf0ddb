"""The policies a running bot knows, by name: built-in ones and those in configured folders."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.sla.loader import load_policy
from bot.sla.policy import Policy


class PolicyBook:
    """Looks policies up by name, re-reading a file when it changes (``load_policy`` caches;
    it still looks at the file each time, unless inside ``steady``)."""

    def __init__(self, default: str = "panenco", search: tuple[Path, ...] = ()) -> None:
        self.default = default
        self.search = search
        self._local = threading.local()

    def get(self, name: str | None = None) -> Policy:
        key = name or self.default
        held: dict[str, Policy] | None = getattr(self._local, "held", None)
        if held is None:
            return load_policy(key, self.search)
        if key not in held:
            held[key] = load_policy(key, self.search)
        return held[key]

    @contextmanager
    def steady(self) -> Iterator[None]:
        """Within the block, in this thread, each policy is read once: a batch of tickets is
        handled under one version of each policy, without looking at the files per ticket."""
        if getattr(self._local, "held", None) is not None:
            yield
            return
        self._local.held = {}
        try:
            yield
        finally:
            self._local.held = None
