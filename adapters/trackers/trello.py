"""Trello through a small typed client on httpx: py-trello, the one Python client, is thinly
kept (one release in four years) and cannot be pointed at another host than api.trello.com;
the REST API needed here is eight calls.

A card's name starts with ``[T-1000042]``; ``find`` looks through the board's cards (open
and archived) for it before a create, so a retry, a restart or a second instance finds the
card made before.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from adapters.trackers.api import Item, TrackerError, explained, http_error
from bot.tracker.item import ItemText
from config.trackers import TrelloTracker

TIMEOUT = 20.0


class TrelloApi:
    kind = "trello"

    def __init__(self, settings: TrelloTracker,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self.http = httpx.Client(base_url=settings.api_url.rstrip("/") + "/", timeout=TIMEOUT,
                                 transport=transport)

    def _call(self, method: str, path: str, **params: Any) -> Any:
        auth = {"key": self.settings.key, "token": self.settings.token.get_secret_value()}
        try:
            r = self.http.request(method, path, params={**auth, **params})
        except httpx.HTTPError as e:
            raise TrackerError(f"cannot reach Trello ({type(e).__name__})") from None
        if r.status_code >= 400:
            raise http_error("Trello", r.status_code, r.text, r.headers.get("Retry-After"))
        return r.json() if r.content else None

    def check(self) -> str:
        try:
            board = self._call("GET", f"boards/{self.settings.board}", fields="name")
        except TrackerError as e:
            raise explained(e, "Trello", f"board {self.settings.board}") from None
        lists = {x["id"] for x in self._call("GET", f"boards/{self.settings.board}/lists")}
        missing = [f"{s} -> {i}" for s, i in sorted(self.settings.lists.items())
                   if i not in lists]
        if missing:
            raise TrackerError(f"Trello board {board['name']!r} has no list "
                               f"{', '.join(missing)}", permanent=True)
        labels = {x["id"] for x in self._call("GET", f"boards/{self.settings.board}/labels")}
        missing = [f"{p} -> {i}" for p, i in sorted(self.settings.labels.items())
                   if i not in labels]
        if missing:
            raise TrackerError(f"Trello board {board['name']!r} has no label "
                               f"{', '.join(missing)}", permanent=True)
        return f"Trello board {board['name']!r}"

    def find(self, reference: str) -> Item | None:
        cards = self._call("GET", f"boards/{self.settings.board}/cards/all",
                           fields="name,shortUrl")
        mark = f"[{reference}]"
        card = next((c for c in cards if str(c.get("name", "")).startswith(mark)), None)
        return Item(card["id"], card.get("shortUrl", "")) if card else None

    def create(self, item: ItemText) -> Item:
        params: dict[str, Any] = {"idList": self.settings.lists["new"], "name": item.title,
                                  "desc": item.description, "pos": "top"}
        label = self.settings.labels.get(item.priority)
        if label:
            params["idLabels"] = label
        if item.due is not None:
            params["due"] = _iso(item.due)
        card = self._call("POST", "cards", **params)
        return Item(card["id"], card.get("shortUrl", ""))

    def comment(self, key: str, text: str) -> None:
        self._call("POST", f"cards/{key}/actions/comments", text=text[:16000])

    def move(self, key: str, state: str) -> None:
        target = self.settings.lists.get(state)
        if target is not None:
            self._call("PUT", f"cards/{key}", idList=target)

    def set_priority(self, key: str, priority: str) -> None:
        card = self._call("GET", f"cards/{key}", fields="idLabels")
        ours = set(self.settings.labels.values())
        labels = [x for x in card.get("idLabels", []) if x not in ours]
        if self.settings.labels.get(priority):
            labels.append(self.settings.labels[priority])
        self._call("PUT", f"cards/{key}", idLabels=",".join(labels))

    def set_due(self, key: str, due: datetime | None) -> None:
        self._call("PUT", f"cards/{key}", due=_iso(due) if due else "null")

    def add_label(self, key: str, label: str) -> None:
        card = self._call("GET", f"cards/{key}", fields="idLabels")
        if label not in card.get("idLabels", []):
            self._call("POST", f"cards/{key}/idLabels", value=label)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
