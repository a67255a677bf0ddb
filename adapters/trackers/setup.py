"""Building the trackers from the settings: one client per configured tracker, the link back
to the ticket pages, and the component ``supportbot run`` mounts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.trackers.api import TrackerApi
from config.settings import Settings
from config.trackers import AsanaTracker, JiraTracker, TrelloTracker

if TYPE_CHECKING:
    from adapters.bootstrap import App
    from adapters.trackers.component import TrackerComponent

DASHBOARD_TICKET_PATH = "/staff/tickets/"
"""Where the dashboard shows a ticket (its reference appended)."""


def tracker_kinds(settings: Settings) -> dict[str, str]:
    """Client name -> the kind of its tracker, for the clients that have one."""
    return {c.name: c.tracker.kind for c in settings.clients if c.tracker is not None}


def tracker_api(tracker: JiraTracker | TrelloTracker | AsanaTracker) -> TrackerApi:
    """The client of one tracker (its library imported only now); connects on first use."""
    if isinstance(tracker, JiraTracker):
        from adapters.trackers.jira import JiraApi

        return JiraApi(tracker)
    if isinstance(tracker, TrelloTracker):
        from adapters.trackers.trello import TrelloApi

        return TrelloApi(tracker)
    from adapters.trackers.asana import AsanaApi

    return AsanaApi(tracker)


def tracker_apis(settings: Settings) -> dict[str, TrackerApi]:
    return {c.name: tracker_api(c.tracker) for c in settings.clients if c.tracker is not None}


def link_base(settings: Settings) -> str | None:
    """The dashboard's ticket page the items link back to, when the dashboard is served."""
    w = settings.web
    on = w.enabled and w.public_url and settings.dashboard.enabled
    return (w.public_url.rstrip("/") + DASHBOARD_TICKET_PATH) if on and w.public_url else None


def tracker_component(app: App) -> TrackerComponent | None:
    """The webhooks and the delivery loop; None when no client has a tracker."""
    if not tracker_kinds(app.settings):
        return None
    from adapters.trackers.component import TrackerComponent

    return TrackerComponent(app, tracker_apis(app.settings), link_base=link_base(app.settings))
