"""A client's joint tracker (``[clients.tracker]``): Jira, Trello or Asana, told apart by
``kind``. Secrets may be written in the file or, better, named by ``*_env``: the environment
variable ``load_settings`` reads them from (``token_env = "ACME_JIRA_TOKEN"``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import Field, SecretStr, model_validator

from bot.errors import ConfigError
from config.fields import Section

STATES = ("new", "open", "paused", "resolved", "closed")
"""The ticket states a tracker's states / lists / sections map from."""
PRIORITIES = ("P1", "P2", "P3", "P4")
JIRA_PRIORITIES = {"P1": "Highest", "P2": "High", "P3": "Medium", "P4": "Low"}
JIRA_STATUSES = {"new": "To Do", "open": "In Progress", "paused": "In Progress",
                 "resolved": "Done", "closed": "Done"}
_URL = re.compile(r"^https?://[^/\s]+(/\S*)?$")


def _check_map(name: str, mapping: Mapping[str, str], keys: tuple[str, ...],
               required: tuple[str, ...] = ()) -> None:
    unknown = sorted(set(mapping) - set(keys))
    if unknown:
        raise ValueError(f"{name}: {', '.join(unknown)} not one of {', '.join(keys)}")
    missing = [k for k in required if not mapping.get(k)]
    if missing:
        raise ValueError(f"{name} needs {', '.join(missing)}")


class _Tracker(Section):
    token: SecretStr = SecretStr("")
    token_env: str | None = None
    """The environment variable holding ``token`` (read at start, never logged)."""
    webhook_secret: SecretStr = SecretStr("")
    webhook_secret_env: str | None = None
    breached_label: str = "sla-breached"
    """The label (Trello: the label id) put on the item when one of its SLA clocks breaches."""

    def _urls(self, *urls: str) -> None:
        for u in urls:
            if not _URL.match(u):
                raise ValueError(f"{u!r} is not an http(s) URL")


class JiraTracker(_Tracker):
    """Jira Cloud (``email`` + API ``token``) or Data Center (a personal access ``token``)."""

    kind: Literal["jira"]
    url: str
    email: str | None = None
    project: Annotated[str, Field(min_length=1)]
    issue_type: str = "Task"
    priorities: dict[str, str] = Field(default_factory=lambda: dict(JIRA_PRIORITIES))
    statuses: dict[str, str] = Field(default_factory=lambda: dict(JIRA_STATUSES))

    @model_validator(mode="after")
    def _valid(self) -> JiraTracker:
        self._urls(self.url)
        _check_map("priorities", self.priorities, PRIORITIES, PRIORITIES)
        _check_map("statuses", self.statuses, STATES, ("new", "resolved"))
        return self


class TrelloTracker(_Tracker):
    """Trello: cards on ``board``, a list per ticket state, a label per priority (ids)."""

    kind: Literal["trello"]
    api_url: str = "https://api.trello.com/1"
    key: Annotated[str, Field(min_length=1)]
    board: Annotated[str, Field(min_length=1)]
    lists: dict[str, str]
    labels: dict[str, str] = Field(default_factory=dict)
    callback_url: str | None = None
    """The URL the Trello webhook was registered with (its signature covers it); default:
    ``web.public_url`` + ``/trackers/trello/CLIENT``."""

    @model_validator(mode="after")
    def _valid(self) -> TrelloTracker:
        self._urls(self.api_url, *([self.callback_url] if self.callback_url else []))
        _check_map("lists", self.lists, STATES, ("new", "resolved"))
        _check_map("labels", self.labels, PRIORITIES)
        return self


class AsanaTracker(_Tracker):
    """Asana: tasks in ``project``, a section per ticket state (gids), the priority in an
    enum custom field (``priority_field`` and an option gid per priority)."""

    kind: Literal["asana"]
    api_url: str = "https://app.asana.com/api/1.0"
    project: Annotated[str, Field(min_length=1)]
    sections: dict[str, str]
    priority_field: str | None = None
    priorities: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _valid(self) -> AsanaTracker:
        self._urls(self.api_url)
        _check_map("sections", self.sections, STATES, ("new", "resolved"))
        _check_map("priorities", self.priorities, PRIORITIES,
                   PRIORITIES if self.priority_field else ())
        return self


TrackerSettings = Annotated[JiraTracker | TrelloTracker | AsanaTracker,
                            Field(discriminator="kind")]


def with_secrets(tracker: _Tracker, key: str, source: str,
                 env: Mapping[str, str]) -> _Tracker:
    """``tracker`` with the secrets its ``*_env`` name read from ``env``; ConfigError naming
    ``key`` (``clients[0].tracker``) and the variable when one is not set."""
    update: dict[str, SecretStr] = {}
    for field in ("token", "webhook_secret"):
        var = getattr(tracker, f"{field}_env")
        if var is None:
            continue
        if not env.get(var):
            raise ConfigError(source, f"{key}.{field}_env",
                              f"the environment variable {var} is not set")
        update[field] = SecretStr(env[var])
    if not (update.get("token") or tracker.token).get_secret_value():
        raise ConfigError(source, f"{key}.token",
                          "a tracker needs its API token: set token_env to the variable "
                          "that holds it")
    return tracker.model_copy(update=update) if update else tracker
