"""What the pager loop loads to chase a missing follow-up call: only the tickets still waiting
for one, through the indexes, on both backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from adapters.storage import Database, SqlUnitOfWork
from bot.clock import ManualClock
from bot.model import Channel
from bot.policies import PolicyBook
from bot.priority import Priority
from bot.services import Helpdesk
from tests.conftest import ACME


def seed(helpdesk: Helpdesk) -> dict[str, str]:
    def p1(subject: str) -> str:
        return helpdesk.register(subject=subject, client="acme", priority=Priority.P1,
                                 actor="alice", reason="down", channel=Channel.EMAIL).reference

    refs = {"pending": p1("Checkout down"), "confirmed": p1("Login down"),
            "lowered": p1("Reports down"), "resolved": p1("Search down"),
            "p3": helpdesk.register(subject="A question", client="acme", priority=Priority.P3,
                                    actor="alice", reason="q").reference}
    helpdesk.confirm_phone_followup(refs["confirmed"], actor="phone")
    helpdesk.set_priority(refs["lowered"], Priority.P2, actor="alice", reason="workaround")
    helpdesk.resolve(refs["resolved"], actor="alice")
    return refs


def test_only_active_tickets_awaiting_their_call_are_loaded(helpdesk: Helpdesk,
                                                            database: Database) -> None:
    refs = seed(helpdesk)
    with SqlUnitOfWork(database, write=False) as uow:
        found = uow.phone.awaiting_followup()
    assert [t.reference for t in found] == [refs["pending"], refs["lowered"]]
    assert [t.phone_followup for t in found] == ["pending", "waived"]
    assert all(t.events and t.client_name == "acme" for t in found)  # loaded whole


def test_the_query_uses_the_status_and_event_indexes(tmp_path: Path, clock: ManualClock) -> None:
    db = Database(f"sqlite:///{tmp_path / 'plan.db'}")  # the plan is SQLite's to show
    db.upgrade()
    helpdesk = Helpdesk(lambda: SqlUnitOfWork(db), clock, PolicyBook("panenco"))
    helpdesk.sync_directory([ACME])
    seed(helpdesk)
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "FROM ticket" in statement and "EXISTS" in statement:
            seen.append((statement, params))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        with SqlUnitOfWork(db, write=False) as uow:
            uow.phone.awaiting_followup()
        [(statement, params)] = seen
        with db.engine.connect() as conn:
            plan = "\n".join(str(r[-1]) for r in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, params))
            total = conn.execute(text("SELECT count(*) FROM ticket")).scalar()
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
        db.dispose()
    assert total == 5
    assert "USING INDEX ix_ticket_status_created" in plan, plan
    assert plan.count("USING INDEX ix_event_ticket_at") == 2, plan
    assert "SCAN ticket" not in plan.replace("SCAN ticket USING", ""), plan
