"""A loopback fake of the Trello REST API paths the bot's Trello client calls (board, lists,
labels, cards: create, get, update, comment, add a label), with cards in memory, and
Trello's webhook signature (``X-Trello-Webhook``: base64 HMAC-SHA1 of body + callback URL,
keyed by the app secret)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
from typing import Any

from tests.fake_http import Answer, FakeServer, Request

BOARD = "b0ard000000000000000001"
LISTS = {"new": "l1st00000000000000000001", "open": "l1st00000000000000000002",
         "paused": "l1st00000000000000000003", "resolved": "l1st00000000000000000004",
         "closed": "l1st00000000000000000005"}
LABELS = {"P1": "1abe1000000000000000001", "P2": "1abe1000000000000000002",
          "P3": "1abe1000000000000000003", "P4": "1abe1000000000000000004",
          "breached": "1abe1000000000000000009"}


def trello_signature(secret: str, body: bytes, callback_url: str) -> str:
    digest = hmac.new(secret.encode(), body + callback_url.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class FakeTrello(FakeServer):
    def __init__(self, key: str = "trello-key", token: str = "trello-token") -> None:
        super().__init__()
        self.key, self.token = key, token
        self.cards: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, list[str]] = {}
        self._ids = itertools.count(1)
        r = self.route
        r("GET", f"/1/boards/{BOARD}", lambda q: (200, {"id": BOARD, "name": "Acme support"}))
        r("GET", f"/1/boards/{BOARD}/lists", lambda q: (200, [
            {"id": i, "name": s.capitalize()} for s, i in LISTS.items()]))
        r("GET", f"/1/boards/{BOARD}/labels", lambda q: (200, [
            {"id": i, "name": p} for p, i in LABELS.items()]))
        r("GET", f"/1/boards/{BOARD}/cards/all", lambda q: (200, list(self.cards.values())))
        r("POST", "/1/cards", self._create)
        r("GET", "/1/cards/([0-9a-f]+)", self._get)
        r("PUT", "/1/cards/([0-9a-f]+)", self._update)
        r("POST", "/1/cards/([0-9a-f]+)/actions/comments", self._comment)
        r("POST", "/1/cards/([0-9a-f]+)/idLabels", self._label)

    def authorized(self, request: Request) -> bool:
        return request.query.get("key") == self.key and request.query.get("token") == self.token

    def by_reference(self, reference: str) -> list[dict[str, Any]]:
        with self.lock:
            return [c for c in self.cards.values() if c["name"].startswith(f"[{reference}]")]

    def webhook(self, card_id: str, *, moved_to: str | None = None,
                comment: str | None = None, label: str | None = None,
                user: str = "Bob") -> bytes:
        """The body Trello posts when ``user`` moves the card, comments or adds a label."""
        card = self.cards[card_id]
        action_id = f"{next(self._ids):024x}"
        creator = {"fullName": user, "username": user.lower()}
        if label is not None:
            card["idLabels"].append(label)
            action = {"id": action_id, "type": "addLabelToCard", "memberCreator": creator,
                      "data": {"card": {"id": card_id, "name": card["name"]},
                               "label": {"id": label}}}
        elif comment is not None:
            action = {"id": action_id, "type": "commentCard", "memberCreator": creator,
                      "data": {"text": comment, "card": {"id": card_id,
                                                         "name": card["name"]}}}
        else:
            after = next(s for s, i in LISTS.items() if i == moved_to)
            before, card["idList"] = card["idList"], moved_to
            action = {"id": action_id, "type": "updateCard", "memberCreator": creator,
                      "data": {"card": {"id": card_id, "name": card["name"],
                                        "idList": moved_to},
                               "listAfter": {"id": moved_to, "name": after.capitalize()},
                               "old": {"idList": before}}}
        return json.dumps({"action": action, "model": {"id": BOARD}}).encode()

    def _create(self, q: Request) -> Answer:
        p = q.query
        if p.get("idList") not in LISTS.values():
            return 400, "invalid value for idList"
        card_id = f"{next(self._ids):024x}"
        labels = [x for x in p.get("idLabels", "").split(",") if x]
        self.cards[card_id] = {"id": card_id, "name": p["name"], "desc": p.get("desc", ""),
                               "idList": p["idList"], "idLabels": labels,
                               "due": p.get("due"), "shortUrl": f"https://trello.test/c/{card_id[-8:]}"}
        self.comments[card_id] = []
        return 200, self.cards[card_id]

    def _get(self, q: Request) -> Answer:
        card = self.cards.get(q.match.group(1))
        return (200, card) if card else (404, "The requested resource was not found.")

    def _update(self, q: Request) -> Answer:
        card = self.cards.get(q.match.group(1))
        if card is None:
            return 404, "The requested resource was not found."
        for k, v in q.query.items():
            if k == "idLabels":
                card[k] = [x for x in v.split(",") if x]
            elif k in ("idList", "due", "name", "desc"):
                card[k] = None if v == "null" else v
        return 200, card

    def _comment(self, q: Request) -> Answer:
        card_id = q.match.group(1)
        if card_id not in self.cards:
            return 404, "The requested resource was not found."
        self.comments[card_id].append(q.query["text"])
        return 200, {"id": f"{next(self._ids):024x}", "type": "commentCard"}

    def _label(self, q: Request) -> Answer:
        card = self.cards.get(q.match.group(1))
        if card is None:
            return 404, "The requested resource was not found."
        card["idLabels"].append(q.query["value"])
        return 200, card["idLabels"]
