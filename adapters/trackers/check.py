"""``supportbot config check``'s connection test of each client's tracker: one line each,
naming the client's key and what is wrong (a refused token, an unknown project, a priority
or list the tracker does not have)."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.trackers.api import TrackerError
from adapters.trackers.setup import tracker_api
from config.settings import Settings


@dataclass(frozen=True)
class Checked:
    key: str
    """``clients[0].tracker``"""
    ok: bool
    line: str


def check_trackers(settings: Settings) -> list[Checked]:
    out: list[Checked] = []
    for i, c in enumerate(settings.clients):
        if c.tracker is None:
            continue
        key = f"clients[{i}].tracker"
        try:
            found = tracker_api(c.tracker).check()
        except TrackerError as e:
            out.append(Checked(key, False, f"{c.name}'s {c.tracker.kind}: {e}"))
        else:
            out.append(Checked(key, True, f"{c.name}'s tracker: {found}: ok"))
    return out
