"""The direct reader of ``tickets list`` (``adapters/dbapi_read.py``) gives the tickets the
repository gives, on SQLite and PostgreSQL; the command takes it without loading SQLAlchemy."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from adapters.dbapi import SCHEMA_VERSION, Target, target_of
from adapters.dbapi_read import TicketReader, open_reader
from adapters.storage import Database, SqlUnitOfWork
from bot.clock import ManualClock
from bot.model import TicketStatus
from bot.services import Helpdesk
from bot.ticket import Ticket

ROOT = Path(__file__).resolve().parents[1]


def _target(db: Database) -> Target:
    url = db.url.render_as_string(hide_password=False)
    target = target_of(url, db.schema)
    assert target is not None, url
    return target


def _reader(db: Database) -> TicketReader:
    reader = open_reader(_target(db))
    assert reader is not None
    return reader


def _seed(helpdesk: Helpdesk, clock: ManualClock) -> list[str]:
    refs = []
    for i, client in enumerate(["acme", None, "nightowl", "acme", "acme"]):
        v = helpdesk.register(subject=f"Checkout fails {i} <b>é</b>", body=f"body {i}\nline 2",
                              client=client, requester="jo@acme.example", actor="test")
        refs.append(v.reference)
        clock.advance(timedelta(minutes=7))
    helpdesk.respond(refs[0], actor="alice", message="looking")
    helpdesk.note(refs[0], 'a note with "quotes" and ünïcode', actor="alice")
    helpdesk.assign(refs[1], "alice", actor="bob")
    helpdesk.pause(refs[3], actor="alice", reason="waiting")
    helpdesk.resolve(refs[4], actor="alice", note="fixed")
    return refs


def _same(a: Ticket, b: Ticket) -> None:
    assert (a.id, a.client_id, a.client_name, a.policy, a.kind, a.subject, a.body, a.priority,
            a.channel, a.status, a.requester, a.assignee, a.created_at) == \
           (b.id, b.client_id, b.client_name, b.policy, b.kind, b.subject, b.body, b.priority,
            b.channel, b.status, b.requester, b.assignee, b.created_at)
    assert [(e.id, e.ticket_id, e.kind, e.at, e.actor, e.data) for e in a.events] == \
           [(e.id, e.ticket_id, e.kind, e.at, e.actor, e.data) for e in b.events]
    assert all(e.at.tzinfo is not None and e.at.utcoffset() == timedelta(0) for e in a.events)


@pytest.mark.parametrize(("client", "statuses", "limit"), [
    (None, (), 100), (None, (), 2), ("acme", (), 100),
    (None, (TicketStatus.NEW, TicketStatus.PAUSED), 100), ("acme", (TicketStatus.RESOLVED,), 5),
])
def test_the_reader_gives_the_repository_s_tickets(
        helpdesk: Helpdesk, clock: ManualClock, database: Database, client: str | None,
        statuses: tuple[TicketStatus, ...], limit: int) -> None:
    _seed(helpdesk, clock)
    with SqlUnitOfWork(database) as uow:
        expected = uow.tickets.list(client=client, statuses=statuses, limit=limit)
    reader = _reader(database)
    try:
        got = reader.tickets(client=client, statuses=statuses, limit=limit)
    finally:
        reader.close()
    assert [t.id for t in got] == [t.id for t in expected]
    assert got, "the case should list something"
    for a, b in zip(got, expected, strict=True):
        _same(a, b)


def test_the_reader_knows_the_clients(helpdesk: Helpdesk, database: Database) -> None:
    reader = _reader(database)
    try:
        assert reader.has_client("acme")
        assert not reader.has_client("nobody")
    finally:
        reader.close()


def test_the_reader_steps_aside_for_another_schema_version(
        helpdesk: Helpdesk, database: Database, tmp_path: Path) -> None:
    from sqlalchemy import text

    with database.engine.begin() as conn:
        conn.execute(text("UPDATE schema_version SET version = :v WHERE id = 1"),
                     {"v": SCHEMA_VERSION + 1})
    assert open_reader(_target(database)) is None
    assert open_reader(Target("sqlite", str(tmp_path / "absent.db"))) is None
    assert not (tmp_path / "absent.db").exists(), "a read must not create the database"


def _cli(config: Path, *args: str) -> tuple[list[dict[str, object]], list[str]]:
    """``supportbot tickets list ARGS --json`` in a fresh interpreter: the tickets and which
    of SQLAlchemy / SQLModel the command imported."""
    code = ("import json, sys; from adapters.cli import main; rc = main(sys.argv[1:]); "
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'sqlalchemy', 'sqlmodel'})), file=sys.stderr); raise SystemExit(rc)")
    p = subprocess.run([sys.executable, "-c", code, "--config", str(config), "tickets", "list",
                        *args, "--json"], cwd=ROOT, capture_output=True, text=True, check=False,
                       env={"PATH": "/usr/bin:/bin", "HOME": str(config.parent)})
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout), json.loads(p.stderr.strip().splitlines()[-1])


def _stable(view: dict[str, object]) -> dict[str, object]:
    """A ticket's JSON without what moves with the instant it was read at."""
    out = {k: v for k, v in view.items() if k not in {"as_of", "clocks"}}
    clocks = view["clocks"]
    assert isinstance(clocks, dict)
    out["due"] = {n: (c["due"], c["target_seconds"]) for n, c in clocks.items()}
    return out


def test_tickets_list_reads_directly_and_shows_what_the_app_shows(
        tmp_path: Path, clock: ManualClock) -> None:
    from adapters.render import ticket_json
    from config.settings import load_settings

    config = tmp_path / "supportbot.toml"
    config.write_text(f'[storage]\nurl = "sqlite:///{tmp_path / "bot.db"}"\n\n'
                      '[[clients]]\nname = "acme"\npolicy = "panenco"\n'
                      'email_domains = ["acme.example"]\n\n[[clients]]\nname = "nightowl"\n'
                      'policy = "demo247"\n', encoding="utf-8")
    from adapters.bootstrap import bootstrap

    app = bootstrap(load_settings(config, env={}), clock=clock)
    try:
        _seed(app.helpdesk, clock)
        expected = {v.reference: _stable(ticket_json(v))
                    for v in app.helpdesk.list(limit=50)}
        acme = [v.reference for v in app.helpdesk.list(client="acme", limit=50)]
    finally:
        app.close()
    listed, loaded = _cli(config)
    assert loaded == [], f"tickets list loaded {loaded}"
    assert {t["reference"]: _stable(t) for t in listed} == expected
    assert [t["reference"] for t in listed] == sorted(expected, reverse=True)
    listed, _ = _cli(config, "--client", "acme")
    assert [t["reference"] for t in listed] == acme
