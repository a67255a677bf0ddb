"""Jira Cloud or Data Center through the ``jira`` library (pycontribs/jira: kept up, the one
most used). The library's own retries are off (``max_retries=0``): the outbox retries.

The item carries the ticket's reference as a label (``T-1000042``) beside ``supportbot``,
and ``find`` looks for it with JQL before a create, so a retry, a restart or a second
instance finds the issue made before instead of making another.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import requests
from jira import JIRA, JIRAError

from adapters.trackers.api import Item, TrackerError, explained, http_error
from bot.tracker.item import BOT_LABEL, ItemText
from config.trackers import JiraTracker

TIMEOUT = 20.0


class JiraApi:
    kind = "jira"

    def __init__(self, settings: JiraTracker) -> None:
        self.settings = settings
        self.base = settings.url.rstrip("/")
        self._client: JIRA | None = None
        self._lock = threading.Lock()

    # -- the connection ------------------------------------------------------------------------

    def client(self) -> JIRA:
        """Connected on first use (the library asks for serverInfo when it connects)."""
        with self._lock:
            if self._client is None:
                token = self.settings.token.get_secret_value()
                auth: dict[str, Any] = ({"basic_auth": (self.settings.email, token)}
                                        if self.settings.email else {"token_auth": token})
                self._client = _call(lambda: JIRA(server=self.base, max_retries=0,
                                                  timeout=TIMEOUT, **auth))
            return self._client

    def check(self) -> str:
        p = self.settings.project
        try:
            j = self.client()
            project = _call(lambda: j.project(p))
            names = {pr.name for pr in _call(j.priorities)}
        except TrackerError as e:
            raise explained(e, "Jira", f"project {p}") from None
        missing = [f"{k} -> {v}" for k, v in sorted(self.settings.priorities.items())
                   if v not in names]
        if missing:
            raise TrackerError(f"Jira has no priority {', '.join(missing)} (it has "
                               f"{', '.join(sorted(names))})", permanent=True)
        return f"Jira {self.base}: project {project.key} ({project.name})"

    # -- the item ------------------------------------------------------------------------------

    def find(self, reference: str) -> Item | None:
        j = self.client()
        jql = (f'project = "{self.settings.project}" AND labels = "{reference}" '
               "ORDER BY created ASC")
        found = _call(lambda: j.search_issues(jql, maxResults=1, fields="labels"))
        return self._item(found[0].key) if found else None

    def create(self, item: ItemText) -> Item:
        j = self.client()
        fields: dict[str, Any] = {
            "project": {"key": self.settings.project},
            "issuetype": {"name": self.settings.issue_type},
            "summary": item.title, "description": item.description,
            "priority": {"name": self.settings.priorities[item.priority]},
            "labels": list(item.labels)}
        if item.due is not None:
            fields["duedate"] = item.due.date().isoformat()
        issue = _call(lambda: j.create_issue(fields=fields, prefetch=False))
        return self._item(issue.key)

    def comment(self, key: str, text: str) -> None:
        j = self.client()
        _call(lambda: j.add_comment(key, text))

    def move(self, key: str, state: str) -> None:
        target = self.settings.statuses.get(state)
        if target is None:
            return  # no status configured for this state: the issue stays where it is
        j = self.client()
        issue = _call(lambda: j.issue(key, fields="status"))
        if issue.fields.status.name == target:
            return
        options = _call(lambda: j.transitions(key))
        chosen = next((t for t in options if t["to"]["name"] == target), None)
        if chosen is None:
            raise TrackerError(f"Jira: {key} has no transition to {target!r} (it offers "
                               f"{', '.join(t['to']['name'] for t in options) or 'none'})",
                               permanent=True)
        _call(lambda: j.transition_issue(key, chosen["id"]))

    def set_priority(self, key: str, priority: str) -> None:
        self._update(key, {"priority": {"name": self.settings.priorities[priority]}})

    def set_due(self, key: str, due: datetime | None) -> None:
        self._update(key, {"duedate": due.date().isoformat() if due else None})

    def add_label(self, key: str, label: str) -> None:
        j = self.client()
        issue = _call(lambda: j.issue(key, fields="labels"))
        labels = list(issue.fields.labels or [])
        if label not in labels:
            _call(lambda: issue.update(fields={"labels": [*labels, label]}))

    def _update(self, key: str, fields: dict[str, Any]) -> None:
        j = self.client()
        issue = _call(lambda: j.issue(key, fields="labels"))
        _call(lambda: issue.update(fields=fields))

    def _item(self, key: str) -> Item:
        return Item(key, f"{self.base}/browse/{key}")


def _call(do: Any) -> Any:
    """``do()``, its failures as TrackerError (never with a credential)."""
    try:
        return do()
    except JIRAError as e:
        detail = str(e.text or "")
        status = e.status_code or 0
        if not status:
            raise TrackerError(f"cannot reach Jira: {detail}") from None
        raise http_error("Jira", status, detail,
                         e.response.headers.get("Retry-After") if e.response is not None
                         else None) from None
    except requests.RequestException as e:
        raise TrackerError(f"cannot reach Jira ({type(e).__name__})") from None


__all__ = ["BOT_LABEL", "JiraApi"]
