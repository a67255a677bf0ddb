"""Each tracker's webhook: its signature scheme, and its body read as :class:`TrackerChange`s
in the ticket's vocabulary (through the client's state and priority maps).

- Jira: ``X-Hub-Signature: sha256=HEX`` (HMAC-SHA256 of the body, keyed by the webhook's
  secret); ``jira:issue_updated`` (status and priority in the changelog), ``comment_created``.
- Trello: ``X-Trello-Webhook``, base64 HMAC-SHA1 of the body followed by the callback URL,
  keyed by the app secret; ``updateCard`` with ``listAfter``, ``addLabelToCard``,
  ``commentCard``.
- Asana: the ``X-Hook-Secret`` handshake, then ``X-Hook-Signature`` (hex HMAC-SHA256 of the
  body, keyed by the handshake's secret); its events name the task or story only, so the task
  (section, priority field) or the story (text) is read back through the API.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from adapters.trackers.asana import AsanaApi
from bot.priority import Priority
from bot.tracker.inbound import TrackerChange
from config.trackers import STATES, AsanaTracker, JiraTracker, TrelloTracker

PREFERRED = ("resolved", "open", "new", "paused", "closed")
"""When several ticket states map to one tracker state, what moving there means."""


def _same(a: str, b: str) -> bool:
    return bool(a) and hmac.compare_digest(a.encode(), b.encode())


def jira_signed(secret: str, body: bytes, header: str) -> bool:
    want = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return _same(header.strip(), want)


def trello_signed(secret: str, body: bytes, callback_url: str, header: str) -> bool:
    digest = hmac.new(secret.encode(), body + callback_url.encode(), hashlib.sha1).digest()
    return _same(header.strip(), base64.b64encode(digest).decode())


def asana_signed(secret: str, body: bytes, header: str) -> bool:
    return _same(header.strip(), hmac.new(secret.encode(), body, hashlib.sha256).hexdigest())


def state_of(mapping: Mapping[str, str], value: str | None) -> str | None:
    """The ticket state a tracker's status / list / section stands for (None: not mapped)."""
    if value is None:
        return None
    states = {s for s in STATES if mapping.get(s) == value}
    return next((s for s in PREFERRED if s in states), None)


def priority_of(mapping: Mapping[str, str], value: str | None) -> Priority | None:
    found = next((p for p, v in sorted(mapping.items()) if v == value), None)
    return Priority.parse(found) if found else None


def jira_changes(t: JiraTracker, body: Mapping[str, Any]) -> list[TrackerChange]:
    key = str(body.get("issue", {}).get("key", ""))
    user = str(body.get("user", {}).get("displayName", ""))
    event = body.get("webhookEvent", "")
    out: list[TrackerChange] = []
    if event == "jira:issue_updated":
        state = priority = None
        for item in body.get("changelog", {}).get("items", []):
            if item.get("field") == "status":
                state = state_of(t.statuses, item.get("toString"))
            elif item.get("field") == "priority":
                priority = priority_of(t.priorities, item.get("toString"))
        if state or priority:
            out.append(TrackerChange("jira", key, user, state=state, priority=priority))
    comment = body.get("comment")
    if comment and event in ("comment_created", "jira:issue_updated"):
        author = str(comment.get("author", {}).get("displayName", "")) or user
        out.append(TrackerChange("jira", key, author, comment=str(comment.get("body", ""))))
    return out


def trello_changes(t: TrelloTracker, body: Mapping[str, Any]) -> list[TrackerChange]:
    action = body.get("action", {})
    data = action.get("data", {})
    key = str(data.get("card", {}).get("id", ""))
    user = str(action.get("memberCreator", {}).get("fullName", ""))
    kind = action.get("type")
    if kind == "updateCard" and "listAfter" in data:
        state = state_of(t.lists, data["listAfter"].get("id"))
        return [TrackerChange("trello", key, user, state=state)] if state else []
    if kind == "addLabelToCard":
        priority = priority_of(t.labels, data.get("label", {}).get("id"))
        return [TrackerChange("trello", key, user, priority=priority)] if priority else []
    if kind == "commentCard":
        return [TrackerChange("trello", key, user, comment=str(data.get("text", "")))]
    return []


def asana_changes(t: AsanaTracker, api: AsanaApi, body: Mapping[str, Any]
                  ) -> list[TrackerChange]:
    """Reads the tasks and stories the events name (blocks: run it in a thread)."""
    out: list[TrackerChange] = []
    seen: set[str] = set()
    for event in body.get("events", []):
        resource = event.get("resource", {})
        gid = str(resource.get("gid", ""))
        if resource.get("resource_type") == "task" and gid not in seen:
            seen.add(gid)
            task = api.task(gid)
            section = next((m.get("section", {}).get("gid") for m in task.get("memberships",
                            []) if m.get("section")), None)
            field = next((f for f in task.get("custom_fields", [])
                          if f.get("gid") == t.priority_field), None)
            option = (field or {}).get("enum_value") or {}
            out.append(TrackerChange("asana", gid,
                                     str((task.get("modified_by") or {}).get("name", "")),
                                     state=state_of(t.sections, section),
                                     priority=priority_of(t.priorities, option.get("gid"))))
        elif resource.get("resource_type") == "story" and \
                resource.get("resource_subtype") == "comment_added":
            story = api.story(gid)
            out.append(TrackerChange("asana", str((story.get("target") or {}).get("gid", "")),
                                     str((story.get("created_by") or {}).get("name", "")),
                                     comment=str(story.get("text", ""))))
    return out


def parse(body: bytes) -> dict[str, Any]:
    """A webhook's JSON body; ValueError when it is not an object."""
    data = json.loads(body.decode("utf-8"))
    if not isinstance(data, dict):
        raise ValueError("the webhook body is not a JSON object")
    return data
