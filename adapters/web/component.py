"""What an adapter gives the web app: its routes, its health, its metrics and its lifecycle.

The web app is composed from components in ``bootstrap``/``runner``; an adapter never builds
the app itself, so Slack and Twilio (and later ones) mount side by side on one port.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric
    from starlette.routing import BaseRoute


@dataclass(frozen=True)
class Health:
    """A component's answer to "can you do your job now?"."""

    ok: bool
    """False: it cannot (``/healthz`` answers 503)."""
    detail: str = ""
    """What it is doing, or why it is degraded or down."""
    degraded: bool = False
    """It works, but something is wrong (a failure since the last success, a reconnect)."""

    @property
    def status(self) -> str:
        """``ok``, ``degraded`` or ``down``."""
        return "down" if not self.ok else "degraded" if self.degraded else "ok"

    def __and__(self, other: Health) -> Health:
        """Both parts of one component: down if either is, details of the parts not ok."""
        worst = [h for h in (self, other) if h.status != "ok"]
        detail = "; ".join(h.detail for h in worst) if worst else \
            "; ".join(h.detail for h in (self, other) if h.detail)
        return Health(self.ok and other.ok, detail, degraded=bool(worst))


class WebComponent(Protocol):
    name: str
    """Short and unique (``slack``, ``twilio``): the key in ``/healthz``."""

    def routes(self) -> Sequence[BaseRoute]:
        """Mounted as given: paths are absolute (``/slack/events``)."""
        ...

    def health(self) -> Health: ...

    def metrics(self) -> Iterable[Metric]:
        """prometheus-client metric families (``GaugeMetricFamily``, ...), read at every
        scrape of ``/metrics``; names prefixed ``supportbot_``."""
        ...

    async def start(self) -> None:
        """Called once the event loop runs, before the server accepts requests."""
        ...

    async def stop(self) -> None: ...

    # Optional: ``quiesce()``, called when the server begins to stop, before it waits for the
    # open connections: a component that holds long-lived responses (event streams) ends them.
