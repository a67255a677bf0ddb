"""The trackers' webhooks, posted over HTTP to the component as each vendor signs them:
moving the item to done resolves the ticket, back to open reopens it, a changed priority sets
it (the tracker's user as the actor, "changed in Jira"), a comment becomes an internal note;
a bad or missing signature gets 401 and changes nothing; a retried delivery changes nothing;
the bot's own changes coming back change nothing (no echo)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from adapters.bootstrap import App
from adapters.storage import Database
from adapters.storage.inbox import InboxStore
from adapters.trackers.component import TrackerComponent
from bot.clock import ManualClock
from bot.model import EventKind, TicketStatus
from bot.priority import Priority
from bot.tracker.mirror import MARK
from tests import fake_asana, fake_trello
from tests.fake_asana import FakeAsana, asana_signature
from tests.fake_http import FakeServer
from tests.fake_jira import FakeJira, jira_signature
from tests.fake_trello import FakeTrello, trello_signature
from tests.tracker_env import KINDS, PUBLIC, SECRET, app_for, link, make_fake, tracker_table
from tests.webserve import serve

HOOK_SECRET = "asana-handshake-secret-42"


@dataclass
class Bot:
    kind: str
    fake: FakeServer
    app: App
    tracker: TrackerComponent
    base: str
    ref: str
    key: str

    def post(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return httpx.post(f"{self.base}/trackers/{self.kind}/acme", content=body,
                          headers={"Content-Type": "application/json", **headers})

    def signed(self, body: bytes) -> httpx.Response:
        return self.post(body, sign(self.kind, body))

    def events(self) -> list[Any]:
        return list(self.app.helpdesk.show(self.ref).ticket.events)


def sign(kind: str, body: bytes) -> dict[str, str]:
    if kind == "jira":
        return {"X-Hub-Signature": jira_signature(SECRET, body)}
    if kind == "trello":
        return {"X-Trello-Webhook": trello_signature(SECRET, body,
                                                     f"{PUBLIC}/trackers/trello/acme")}
    return {"X-Hook-Signature": asana_signature(HOOK_SECRET, body)}


def moved(bot: Bot, state: str, user: str = "Alice") -> bytes:
    f = bot.fake
    if isinstance(f, FakeJira):
        name = {"resolved": "Done", "open": "In Progress", "new": "To Do"}[state]
        f.issues[bot.key]["fields"]["status"] = {"name": name}
        return f.webhook("jira:issue_updated", bot.key, user=user,
                         changes=[{"field": "status", "toString": name}])
    if isinstance(f, FakeTrello):
        return f.webhook(bot.key, moved_to=fake_trello.LISTS[state], user=user)
    assert isinstance(f, FakeAsana)
    return f.move(bot.key, fake_asana.SECTIONS[state], user=user)


def reprioritised(bot: Bot, priority: str, user: str = "Alice") -> bytes:
    f = bot.fake
    if isinstance(f, FakeJira):
        name = {"P1": "Highest", "P2": "High", "P3": "Medium", "P4": "Low"}[priority]
        return f.webhook("jira:issue_updated", bot.key, user=user,
                         changes=[{"field": "priority", "toString": name}])
    if isinstance(f, FakeTrello):
        return f.webhook(bot.key, label=fake_trello.LABELS[priority], user=user)
    assert isinstance(f, FakeAsana)
    return f.change_priority(bot.key, fake_asana.PRIORITIES[priority], user=user)


def commented(bot: Bot, text: str, user: str = "Alice") -> bytes:
    f = bot.fake
    if isinstance(f, FakeJira):
        return f.webhook("comment_created", bot.key, user=user, comment=text)
    if isinstance(f, FakeTrello):
        return f.webhook(bot.key, comment=text, user=user)
    assert isinstance(f, FakeAsana)
    return f.add_comment(bot.key, text, user=user)


@pytest.fixture(params=KINDS)
def bot(request: pytest.FixtureRequest, database: Database,
        clock: ManualClock) -> Iterator[Bot]:
    kind = request.param
    fake = make_fake(kind)
    app, tracker = app_for(database, clock, tracker_table(kind, fake))
    try:
        view = app.helpdesk.register(subject="Checkout is down", client="acme",
                                     requester="jan@acme.example", priority=Priority.P3,
                                     actor="alice", reason="triage")
        tracker.sender.send_due()
        assert view.ticket.id is not None
        found = link(app, view.ticket.id)
        assert found is not None and found.key
        with serve(tracker.routes(), start=tracker.start, stop=tracker.stop) as base:
            b = Bot(kind, fake, app, tracker, base, view.reference, found.key)
            if kind == "asana":
                r = b.post(b"", {"X-Hook-Secret": HOOK_SECRET})
                assert r.status_code == 200 and r.headers["X-Hook-Secret"] == HOOK_SECRET
                forged = b.post(b"", {"X-Hook-Secret": "another"})
                assert forged.status_code == 403  # the first handshake's secret stays
            yield b
    finally:
        app.close()
        fake.stop()


def test_done_in_the_tracker_resolves_and_open_again_reopens(bot: Bot) -> None:
    r = bot.signed(moved(bot, "resolved"))
    assert r.status_code == 200
    t = bot.app.helpdesk.show(bot.ref).ticket
    assert t.status == TicketStatus.RESOLVED
    resolved = t.last(EventKind.RESOLVED)
    assert resolved is not None and resolved.actor == f"{bot.kind}:Alice"
    assert bot.tracker.sender.send_due() == 0  # nothing goes back: the tracker has it
    assert bot.signed(moved(bot, "open")).status_code == 200
    t = bot.app.helpdesk.show(bot.ref).ticket
    assert t.status == TicketStatus.OPEN
    reopened = t.last(EventKind.REOPENED)
    assert reopened is not None and "moved back to open" in reopened.data["reason"]


def test_a_priority_changed_in_the_tracker_is_set_with_its_user_and_reason(bot: Bot) -> None:
    assert bot.signed(reprioritised(bot, "P1", user="Dora")).status_code == 200
    t = bot.app.helpdesk.show(bot.ref).ticket
    assert t.priority == Priority.P1
    changed = t.last(EventKind.PRIORITY_SET)
    assert changed is not None and changed.actor == f"{bot.kind}:Dora"
    where = {"jira": "Jira", "trello": "Trello", "asana": "Asana"}[bot.kind]
    assert changed.data["reason"] == f"changed in {where}"


def test_a_comment_becomes_an_internal_note_and_the_bots_own_do_not(bot: Bot) -> None:
    assert bot.signed(commented(bot, "Deployed a fix to staging.")).status_code == 200
    assert bot.signed(commented(bot, f"{MARK} Staff note by alice")).status_code == 200
    notes = [e for e in bot.events() if e.kind == EventKind.NOTE]
    assert [(n.actor, n.data["text"]) for n in notes] == [
        (f"{bot.kind}:Alice", "Deployed a fix to staging.")]
    assert bot.tracker.sender.send_due() == 0  # the note is not sent back as a comment


def test_the_bots_own_changes_coming_back_change_nothing(bot: Bot) -> None:
    hd = bot.app.helpdesk
    hd.set_priority(bot.ref, Priority.P2, actor="alice", reason="more users")
    hd.resolve(bot.ref, actor="alice", note="fixed")
    bot.tracker.sender.send_due()
    before = len(bot.events())
    assert bot.signed(reprioritised(bot, "P2")).status_code == 200  # the echo of ours
    assert bot.signed(moved(bot, "resolved")).status_code == 200
    assert len(bot.events()) == before
    assert hd.show(bot.ref).ticket.status == TicketStatus.RESOLVED


def test_a_bad_or_missing_signature_gets_401_and_changes_nothing(bot: Bot) -> None:
    body = moved(bot, "resolved")
    header = next(iter(sign(bot.kind, body)))
    assert bot.post(body, {}).status_code == 401
    assert bot.post(body, {header: "c2lnbmF0dXJl"}).status_code == 401
    tampered = json.dumps({**json.loads(body), "injected": True}).encode()
    assert bot.post(tampered, sign(bot.kind, body)).status_code == 401
    assert bot.app.helpdesk.show(bot.ref).ticket.status == TicketStatus.NEW
    with bot.app.uow.reader() as uow:
        assert InboxStore(uow.session).counts("tracker") == {}


def test_a_retried_delivery_is_one_input(bot: Bot) -> None:
    body = commented(bot, "Please check again.")
    for _ in range(3):
        assert bot.signed(body).status_code == 200
    notes = [e for e in bot.events() if e.kind == EventKind.NOTE]
    assert len(notes) == 1
    with bot.app.uow.reader() as uow:
        assert InboxStore(uow.session).counts("tracker") == {"done": 1}


def test_an_unknown_client_or_kind_is_404(bot: Bot) -> None:
    assert httpx.post(f"{bot.base}/trackers/{bot.kind}/nobody", content=b"{}").status_code \
        == 404
    other = "trello" if bot.kind != "trello" else "jira"
    assert httpx.post(f"{bot.base}/trackers/{other}/acme", content=b"{}").status_code == 404
