"""What an adapter gives the web app: its routes, its health, its metrics and its lifecycle.

The web app is composed from components in ``bootstrap``/``runner``; an adapter never builds
the app itself, so Slack and Twilio (and later ones) mount side by side on one port.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from starlette.routing import BaseRoute


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: str = ""


class WebComponent(Protocol):
    name: str
    """Short and unique (``slack``, ``twilio``): the key in ``/healthz``."""

    def routes(self) -> Sequence[BaseRoute]:
        """Mounted as given: paths are absolute (``/slack/events``)."""
        ...

    def health(self) -> Health: ...

    def metrics(self) -> Iterable[str]:
        """Prometheus text-format lines (``# HELP``/``# TYPE`` and samples), names prefixed
        ``supportbot_``."""
        ...

    async def start(self) -> None:
        """Called once the event loop runs, before the server accepts requests."""
        ...

    async def stop(self) -> None: ...
