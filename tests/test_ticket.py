"""The ticket aggregate on its own: each rule, the events it records, and what it refuses.
No storage: a ticket is a plain object until a repository saves it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import InvalidAction
from bot.model import Event, EventKind, TicketStatus
from bot.priority import Priority
from bot.ticket import Ticket
from tests.tickets import new_ticket

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
P1_CALL = frozenset({Priority.P1})


def saved(t: Ticket, first_id: int = 1) -> Ticket:
    """As a repository would: the pending events get ids and become news."""
    if t.id is None:
        t.id = 7
    t.mark_saved([Event(e.kind, e.at, e.actor, dict(e.data), t.id, first_id + i)
                  for i, e in enumerate(t.pending)])
    return t


def kinds(events: object) -> list[str]:
    return [e.kind.value for e in events]  # type: ignore[attr-defined]


def test_state_is_read_only_outside_the_aggregate() -> None:
    t = new_ticket(at=T0)
    for name, value in (("status", TicketStatus.CLOSED), ("priority", Priority.P1),
                        ("assignee", "mallory"), ("events", ())):
        with pytest.raises(AttributeError):
            setattr(t, name, value)
    assert isinstance(t.events, tuple)  # no .append on the log


def test_recorded_events_wait_until_saved_then_are_news_once() -> None:
    t = new_ticket(at=T0)
    assert kinds(t.pending) == ["registered", "priority_set"] and t.take_news() == []
    saved(t)
    assert t.pending == () and [e.id for e in t.events] == [1, 2]
    assert kinds(t.take_news()) == ["registered", "priority_set"]
    assert t.take_news() == []
    t.respond(actor="alice", now=T0 + timedelta(minutes=5))
    assert kinds(t.events)[-1] == "responded" and t.events[-1].id is None
    with pytest.raises(ValueError, match="1 pending"):
        t.mark_saved([])


def test_a_response_opens_a_new_ticket_and_pausing_needs_a_reason() -> None:
    t = saved(new_ticket(at=T0))
    with pytest.raises(InvalidAction, match="reason"):
        t.pause(actor="alice", reason="  ", now=T0)
    t.pause(actor="alice", reason="waiting for logs", now=T0)
    assert t.status == TicketStatus.PAUSED
    t.resume(actor="alice", now=T0)
    assert t.status == TicketStatus.NEW  # never answered: new again, not open
    t.respond(actor="alice", now=T0, message="on it")
    assert t.status == TicketStatus.OPEN and t.events[-1].data == {"message": "on it"}
    t.pause(actor="alice", reason="third party", now=T0)
    t.resume(actor="alice", now=T0)
    assert t.status == TicketStatus.OPEN


def test_resolve_reopen_close_follow_their_order() -> None:
    t = saved(new_ticket(at=T0))
    with pytest.raises(InvalidAction, match="only resolved tickets reopen"):
        t.reopen(actor="alice", reason="x", now=T0)
    t.resolve(actor="alice", now=T0, note="fixed")
    with pytest.raises(InvalidAction, match="already resolved"):
        t.resolve(actor="alice", now=T0)
    with pytest.raises(InvalidAction, match="reopen it first"):
        t.confirm_cause(actor="alice", now=T0)
    t.reopen(actor="alice", reason="not fixed", now=T0)
    assert t.status == TicketStatus.OPEN
    t.close(actor="alice", now=T0, data={"merged_into": "T-1002"})
    assert t.events[-1].data == {"merged_into": "T-1002"}
    for act in (lambda: t.respond(actor="a", now=T0), lambda: t.assign("a", actor="a", now=T0),
                lambda: t.close(actor="a", now=T0)):
        with pytest.raises(InvalidAction, match="is closed"):
            act()


def test_the_client_reopens_only_within_the_window() -> None:
    t = saved(new_ticket(at=T0))
    assert not t.reopen_by_client(actor="jo", now=T0, within=timedelta(days=7))  # not resolved
    t.resolve(actor="alice", now=T0)
    assert not t.reopen_by_client(actor="jo", now=T0 + timedelta(days=8),
                                  within=timedelta(days=7))
    assert t.status == TicketStatus.RESOLVED
    assert t.reopen_by_client(actor="jo", now=T0 + timedelta(days=6), within=timedelta(days=7))
    assert t.status == TicketStatus.OPEN
    assert t.events[-1].data == {"reason": "the client replied after resolution"}


def test_priority_changes_require_and_waive_the_phone_call() -> None:
    t = saved(new_ticket(at=T0, priority=Priority.P2))
    with pytest.raises(InvalidAction, match="already P2"):
        t.set_priority(Priority.P2, actor="a", reason="x", now=T0, phone_followup=P1_CALL)
    with pytest.raises(InvalidAction, match="needs a reason"):
        t.set_priority(Priority.P1, actor="a", reason="", now=T0, phone_followup=P1_CALL)
    t.set_priority(Priority.P1, actor="a", reason="site down", now=T0, phone_followup=P1_CALL)
    assert t.priority == Priority.P1 and t.phone_followup == "pending"
    t.set_priority(Priority.P3, actor="a", reason="workaround", now=T0, phone_followup=P1_CALL)
    assert t.phone_followup == "waived"
    assert kinds(t.events)[-4:] == ["priority_set", "phone_followup_required", "priority_set",
                                    "phone_followup_waived"]
    with pytest.raises(InvalidAction, match="no phone follow-up needed"):
        saved(new_ticket(at=T0)).confirm_phone_followup(actor="a", now=T0)


def test_time_logged_counts_at_the_priority_of_the_moment() -> None:
    t = saved(new_ticket(at=T0, priority=Priority.P3))
    with pytest.raises(InvalidAction, match="at most 24"):
        t.log_time(25, actor="a", now=T0)
    t.log_time(1.5, actor="a", now=T0)
    t.set_priority(Priority.P2, actor="a", reason="worse", now=T0, phone_followup=P1_CALL)
    t.log_time(0.5, actor="a", now=T0)
    assert [e.data["priority"] for e in t.events if e.kind == EventKind.TIME_LOGGED] == \
        ["P3", "P2"]
    assert t.time_logged_hours() == 2.0


def test_only_paging_kinds_go_through_paging_and_naive_instants_are_refused() -> None:
    t = saved(new_ticket(at=T0))
    with pytest.raises(ValueError, match="not a paging event"):
        t.paging(EventKind.RESOLVED, now=T0, data={})
    with pytest.raises(ValueError, match="aware"):
        t.note("x", actor="a", now=datetime(2026, 11, 23, 9, 0))
    with pytest.raises(InvalidAction, match="empty note"):
        t.note(" ", actor="a", now=T0)


def test_a_merge_brings_the_voicemails_of_the_other_ticket() -> None:
    phone = saved(new_ticket(at=T0, subject="Phone message"))
    phone.voicemail_recorded(actor="phone:+32", now=T0, data={"recording_url": "u"})
    saved(phone, 10)
    mail = saved(new_ticket(at=T0 + timedelta(minutes=3)), 20)
    mail.id = 8
    mail.merge_in(phone, now=T0 + timedelta(minutes=3), reason="same incident")
    assert kinds(mail.pending) == ["voicemail_recorded", "merged"]
    assert mail.pending[0].data["from_ticket"] == phone.reference
    assert mail.pending[0].data["recording_url"] == "u"


def test_resolving_an_unanswered_ticket_is_its_first_response() -> None:
    t = saved(new_ticket(at=T0))
    t.resolve(actor="alice", now=T0 + timedelta(hours=1), note="config fixed")
    assert kinds(t.pending) == ["responded", "resolved"]
    assert t.pending[0].data == {"with": "the resolution"}
    answered = saved(new_ticket(at=T0))
    answered.respond(actor="alice", now=T0)
    answered.resolve(actor="alice", now=T0 + timedelta(hours=1))
    assert kinds(answered.pending) == ["responded", "resolved"]  # no second response
