"""Asana through its official SDK (``asana`` v5, generated from Asana's OpenAPI and kept up by
Asana): its ``Configuration().host`` points it at any base URL. Its own retries are off: the
outbox retries.

A task's name starts with ``[T-1000042]``; ``find`` looks through the project's tasks for it
before a create, so a retry, a restart or a second instance finds the task made before.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import asana
import urllib3
from asana.rest import ApiException

from adapters.trackers.api import Item, TrackerError, explained, http_error
from bot.tracker.item import ItemText
from config.trackers import AsanaTracker


class AsanaApi:
    kind = "asana"

    def __init__(self, settings: AsanaTracker) -> None:
        self.settings = settings
        conf = asana.Configuration()
        conf.host = settings.api_url.rstrip("/")
        conf.access_token = settings.token.get_secret_value()
        conf.retry_strategy = False
        self.client = asana.ApiClient(conf)
        self.tasks = asana.TasksApi(self.client)
        self.stories = asana.StoriesApi(self.client)
        self.sections = asana.SectionsApi(self.client)
        self.projects = asana.ProjectsApi(self.client)
        self._lock = threading.Lock()  # the generated client is not documented thread safe

    def _call(self, do: Any) -> Any:
        with self._lock:
            try:
                return do()
            except ApiException as e:
                headers = dict(e.headers or {})
                raise http_error("Asana", int(e.status or 0), _detail(e.body),
                                 headers.get("Retry-After")) from None
            except urllib3.exceptions.HTTPError as e:
                raise TrackerError(f"cannot reach Asana ({type(e).__name__})") from None

    def check(self) -> str:
        p = self.settings.project
        try:
            project = self._call(lambda: self.projects.get_project(p, {"opt_fields": "name"}))
        except TrackerError as e:
            raise explained(e, "Asana", f"project {p}") from None
        have = {s["gid"] for s in self._call(lambda: list(
            self.sections.get_sections_for_project(p, {"opt_fields": "name"})))}
        missing = [f"{k} -> {v}" for k, v in sorted(self.settings.sections.items())
                   if v not in have]
        if missing:
            raise TrackerError(f"Asana project {project['name']!r} has no section "
                               f"{', '.join(missing)}", permanent=True)
        return f"Asana project {project['name']!r}"

    def find(self, reference: str) -> Item | None:
        mark = f"[{reference}]"
        tasks = self._call(lambda: list(self.tasks.get_tasks_for_project(
            self.settings.project, {"opt_fields": "name,permalink_url"})))
        task = next((t for t in tasks if str(t.get("name", "")).startswith(mark)), None)
        return Item(task["gid"], task.get("permalink_url", "")) if task else None

    def create(self, item: ItemText) -> Item:
        s = self.settings
        data: dict[str, Any] = {"name": item.title, "notes": item.description,
                                "projects": [s.project],
                                "memberships": [{"project": s.project,
                                                 "section": s.sections["new"]}]}
        if item.due is not None:
            data["due_at"] = _iso(item.due)
        if s.priority_field:
            data["custom_fields"] = {s.priority_field: s.priorities[item.priority]}
        task = self._call(lambda: self.tasks.create_task(
            {"data": data}, {"opt_fields": "name,permalink_url"}))
        return Item(task["gid"], task.get("permalink_url", ""))

    def comment(self, key: str, text: str) -> None:
        self._call(lambda: self.stories.create_story_for_task({"data": {"text": text}}, key,
                                                              {}))

    def move(self, key: str, state: str) -> None:
        section = self.settings.sections.get(state)
        if section is not None:
            self._call(lambda: self.sections.add_task_for_section(
                section, {"body": {"data": {"task": key}}}))

    def set_priority(self, key: str, priority: str) -> None:
        s = self.settings
        if s.priority_field:
            self._update(key, {"custom_fields": {s.priority_field: s.priorities[priority]}})

    def set_due(self, key: str, due: datetime | None) -> None:
        self._update(key, {"due_at": _iso(due) if due else None})

    def add_label(self, key: str, label: str) -> None:
        if label.isdigit():  # a tag's gid; a name is not a tag Asana knows
            self._call(lambda: self.tasks.add_tag_for_task({"data": {"tag": label}}, key))

    def task(self, key: str) -> dict[str, Any]:
        """The task's section and priority now (a webhook says only that it changed)."""
        return self._call(lambda: self.tasks.get_task(key, {
            "opt_fields": "name,memberships.section.gid,custom_fields.gid,"
                          "custom_fields.enum_value.gid,modified_by.name"}))

    def story(self, key: str) -> dict[str, Any]:
        return self._call(lambda: self.stories.get_story(key, {
            "opt_fields": "text,type,resource_subtype,created_by.name,target.gid"}))

    def _update(self, key: str, data: dict[str, Any]) -> None:
        self._call(lambda: self.tasks.update_task({"data": data}, key, {}))


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _detail(body: Any) -> str:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    return text[:300]
