"""What the tracker tests share: each vendor's fake, the client's ``tracker`` table pointing
at it, and a bot wired by the real composition root over the test's database."""

from __future__ import annotations

from typing import Any

from adapters.bootstrap import App, bootstrap
from adapters.storage import Database
from adapters.storage.outbox import OutboxStore
from adapters.storage.trackers import KIND, TrackerLink, TrackerLinks
from adapters.trackers.component import TrackerComponent
from adapters.trackers.setup import tracker_component
from bot.clock import ManualClock
from config.settings import Settings
from tests import fake_asana, fake_trello
from tests.fake_asana import FakeAsana
from tests.fake_http import FakeServer
from tests.fake_jira import FakeJira
from tests.fake_trello import FakeTrello

KINDS = ("jira", "trello", "asana")
SECRET = "whsec-0123456789"
PUBLIC = "https://bot.provider.example"


def make_fake(kind: str) -> FakeServer:
    fake: FakeServer = {"jira": FakeJira, "trello": FakeTrello, "asana": FakeAsana}[kind]()
    return fake.start()


def tracker_table(kind: str, fake: FakeServer, **extra: Any) -> dict[str, Any]:
    """The ``[clients.tracker]`` table for ``fake``."""
    if kind == "jira":
        table = {"kind": "jira", "url": fake.base, "token": "jira-pat", "project": "SUP"}
    elif kind == "trello":
        table = {"kind": "trello", "api_url": fake.base + "/1", "key": "trello-key",
                 "token": "trello-token", "board": fake_trello.BOARD,
                 "lists": fake_trello.LISTS,
                 "labels": {p: i for p, i in fake_trello.LABELS.items() if p.startswith("P")},
                 "breached_label": fake_trello.LABELS["breached"]}
    else:
        table = {"kind": "asana", "api_url": fake.base, "token": "asana-pat",
                 "project": fake_asana.PROJECT, "sections": fake_asana.SECTIONS,
                 "priority_field": fake_asana.PRIORITY_FIELD,
                 "priorities": fake_asana.PRIORITIES}
    if kind != "asana":  # Asana's secret comes in its handshake
        table["webhook_secret"] = SECRET
    return {**table, **extra}


def settings(database: Database, tracker: dict[str, Any], **extra: Any) -> Settings:
    storage: dict[str, object] = {"url": database.url.render_as_string(hide_password=False)}
    if database.schema:
        storage["schema"] = database.schema
    return Settings.model_validate({
        "storage": storage,
        "web": {"enabled": True, "public_url": PUBLIC},
        "dashboard": {"enabled": True, "session_secret": "s" * 32},  # the items link to it
        "clients": [{"name": "acme", "email_domains": ["acme.example"], "tracker": tracker}],
        "staff": [{"name": "alice", "email": "alice@provider.example"}],
        **extra,
    })


def app_for(database: Database, clock: ManualClock, tracker: dict[str, Any]
            ) -> tuple[App, TrackerComponent]:
    app = bootstrap(settings(database, tracker), clock=clock)
    component = tracker_component(app)
    assert component is not None
    return app, component


def items_of(kind: str, fake: FakeServer, reference: str) -> list[dict[str, Any]]:
    if isinstance(fake, FakeJira):
        return fake.by_label(reference)
    assert isinstance(fake, FakeTrello | FakeAsana)
    return fake.by_reference(reference)


def link(app: App, ticket_id: int) -> TrackerLink | None:
    with app.uow.reader() as uow:
        return TrackerLinks(uow.session).get(ticket_id)


def tracker_rows(app: App) -> dict[str, int]:
    with app.uow.reader() as uow:
        return OutboxStore(uow.session).counts(KIND)


def comments_of(fake: FakeServer, key: str) -> list[str]:
    if isinstance(fake, FakeAsana):
        return list(fake.tasks[key]["comments"])
    assert isinstance(fake, FakeJira | FakeTrello)
    return list(fake.comments[key])


def state_of(fake: FakeServer, key: str) -> str:
    """Where the item stands in the fake, as the ticket state it maps from."""
    if isinstance(fake, FakeJira):
        return {"To Do": "new", "In Progress": "open", "Done": "resolved"}.get(
            fake.issues[key]["fields"]["status"]["name"], "?")
    if isinstance(fake, FakeTrello):
        return next(s for s, i in fake_trello.LISTS.items() if i == fake.cards[key]["idList"])
    assert isinstance(fake, FakeAsana)
    return next(s for s, g in fake_asana.SECTIONS.items() if g == fake.section_of(key))


def priority_of(fake: FakeServer, key: str) -> str:
    if isinstance(fake, FakeJira):
        name = fake.issues[key]["fields"]["priority"]["name"]
        return {"Highest": "P1", "High": "P2", "Medium": "P3", "Low": "P4"}[name]
    if isinstance(fake, FakeTrello):
        labels = fake.cards[key]["idLabels"]
        return next(p for p, i in fake_trello.LABELS.items() if i in labels)
    assert isinstance(fake, FakeAsana)
    option = fake.tasks[key]["custom_fields"][0]["enum_value"]["gid"]
    return next(p for p, g in fake_asana.PRIORITIES.items() if g == option)
