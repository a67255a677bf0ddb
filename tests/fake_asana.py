"""A loopback fake of the Asana REST API paths the official ``asana`` SDK calls for the bot
(project, sections, project tasks, task create/get/update, stories, add to section, tag),
with tasks in memory, and Asana's webhooks: the ``X-Hook-Secret`` handshake, then
``X-Hook-Signature`` (hex HMAC-SHA256 of the body, keyed by the handshake's secret)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from typing import Any

from tests.fake_http import Answer, FakeServer, Request

PROJECT = "1200000000000001"
SECTIONS = {"new": "1200000000000011", "open": "1200000000000012",
            "paused": "1200000000000013", "resolved": "1200000000000014",
            "closed": "1200000000000015"}
PRIORITY_FIELD = "1200000000000100"
PRIORITIES = {"P1": "1200000000000101", "P2": "1200000000000102",
              "P3": "1200000000000103", "P4": "1200000000000104"}


def asana_signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class FakeAsana(FakeServer):
    def __init__(self, token: str = "asana-pat") -> None:
        super().__init__()
        self.token = token
        self.tasks: dict[str, dict[str, Any]] = {}
        self.stories: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1300000000000001)
        r = self.route
        r("GET", f"/projects/{PROJECT}", lambda q: (200, {"data": {
            "gid": PROJECT, "name": "Acme support", "resource_type": "project"}}))
        r("GET", f"/projects/{PROJECT}/sections", lambda q: (200, {"data": [
            {"gid": g, "name": s.capitalize()} for s, g in SECTIONS.items()],
            "next_page": None}))
        r("GET", f"/projects/{PROJECT}/tasks", lambda q: (200, {"data": [
            {"gid": t["gid"], "name": t["name"], "permalink_url": t["permalink_url"]}
            for t in self.tasks.values()], "next_page": None}))
        r("POST", "/tasks", self._create)
        r("GET", "/tasks/([0-9]+)", self._get)
        r("PUT", "/tasks/([0-9]+)", self._update)
        r("POST", "/tasks/([0-9]+)/stories", self._story)
        r("GET", "/stories/([0-9]+)", self._get_story)
        r("POST", "/sections/([0-9]+)/addTask", self._to_section)
        r("POST", "/tasks/([0-9]+)/addTag", self._tag)

    def authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.token}"

    def by_reference(self, reference: str) -> list[dict[str, Any]]:
        with self.lock:
            return [t for t in self.tasks.values() if t["name"].startswith(f"[{reference}]")]

    def section_of(self, gid: str) -> str:
        return self.tasks[gid]["memberships"][0]["section"]["gid"]

    def move(self, gid: str, section: str, user: str = "Carol") -> bytes:
        """Move the task in Asana as a person would; the webhook body Asana then posts."""
        with self.lock:
            self.tasks[gid]["memberships"] = [{"project": {"gid": PROJECT},
                                               "section": {"gid": section}}]
            self.tasks[gid]["modified_by"] = {"name": user}
        return self._events({"action": "added", "resource": {"gid": gid, "resource_type":
                                                              "task"},
                             "parent": {"gid": section, "resource_type": "section"},
                             "user": {"gid": "42", "resource_type": "user"}})

    def change_priority(self, gid: str, option: str, user: str = "Carol") -> bytes:
        with self.lock:
            self.tasks[gid]["custom_fields"] = [{"gid": PRIORITY_FIELD,
                                                 "enum_value": {"gid": option}}]
            self.tasks[gid]["modified_by"] = {"name": user}
        return self._events({"action": "changed", "resource": {"gid": gid, "resource_type":
                                                                "task"},
                             "change": {"field": "custom_fields", "action": "changed"}})

    def add_comment(self, gid: str, text: str, user: str = "Carol") -> bytes:
        with self.lock:
            story = {"gid": str(next(self._ids)), "text": text, "type": "comment",
                     "resource_subtype": "comment_added", "created_by": {"name": user},
                     "target": {"gid": gid}}
            self.stories[story["gid"]] = story
        return self._events({"action": "added", "resource": {
            "gid": story["gid"], "resource_type": "story", "resource_subtype":
            "comment_added"}, "parent": {"gid": gid, "resource_type": "task"}})

    def _events(self, event: dict[str, Any]) -> bytes:
        return json.dumps({"events": [{**event, "created_at": "2026-11-23T09:30:00.000Z"}]}
                          ).encode()

    def _create(self, q: Request) -> Answer:
        data = q.body["data"]
        gid = str(next(self._ids))
        memberships = [{"project": {"gid": m["project"]}, "section": {"gid": m["section"]}}
                       for m in data.get("memberships", [])]
        fields = [{"gid": f, "enum_value": {"gid": v}}
                  for f, v in data.get("custom_fields", {}).items()]
        self.tasks[gid] = {"gid": gid, "name": data["name"], "notes": data.get("notes", ""),
                           "due_at": data.get("due_at"), "memberships": memberships,
                           "custom_fields": fields, "tags": [], "comments": [],
                           "permalink_url": f"https://app.asana.test/0/{PROJECT}/{gid}"}
        return 201, {"data": self.tasks[gid]}

    def _get(self, q: Request) -> Answer:
        task = self.tasks.get(q.match.group(1))
        return (200, {"data": task}) if task else (404, {"errors": [{"message": "Not found"}]})

    def _update(self, q: Request) -> Answer:
        task = self.tasks.get(q.match.group(1))
        if task is None:
            return 404, {"errors": [{"message": "Not found"}]}
        data = q.body["data"]
        for f, v in data.pop("custom_fields", {}).items():
            task["custom_fields"] = [c for c in task["custom_fields"] if c["gid"] != f]
            task["custom_fields"].append({"gid": f, "enum_value": {"gid": v}})
        task.update(data)
        return 200, {"data": task}

    def _story(self, q: Request) -> Answer:
        task = self.tasks.get(q.match.group(1))
        if task is None:
            return 404, {"errors": [{"message": "Not found"}]}
        task["comments"].append(q.body["data"]["text"])
        story = {"gid": str(next(self._ids)), "text": q.body["data"]["text"],
                 "type": "comment", "resource_subtype": "comment_added",
                 "created_by": {"name": "supportbot"}, "target": {"gid": task["gid"]}}
        self.stories[story["gid"]] = story
        return 201, {"data": story}

    def _get_story(self, q: Request) -> Answer:
        story = self.stories.get(q.match.group(1))
        return (200, {"data": story}) if story else (404, {"errors": [{"message": "Nope"}]})

    def _to_section(self, q: Request) -> Answer:
        gid = q.body["data"]["task"]
        if gid not in self.tasks or q.match.group(1) not in SECTIONS.values():
            return 404, {"errors": [{"message": "Not found"}]}
        self.tasks[gid]["memberships"] = [{"project": {"gid": PROJECT},
                                           "section": {"gid": q.match.group(1)}}]
        return 200, {"data": {}}

    def _tag(self, q: Request) -> Answer:
        task = self.tasks.get(q.match.group(1))
        if task is None:
            return 404, {"errors": [{"message": "Not found"}]}
        task["tags"].append(q.body["data"]["tag"])
        return 200, {"data": {}}
