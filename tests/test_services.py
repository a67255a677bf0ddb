"""The service layer over a real store (SQLite or PostgreSQL) with an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.clock import ManualClock
from bot.clocks import ClockStatus
from bot.errors import InvalidAction, NotFound
from bot.model import Channel, EventKind, TicketStatus
from bot.priority import Priority
from bot.services import Helpdesk

BRU = ZoneInfo("Europe/Brussels")


def kinds(view) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.kind.value for e in view.ticket.events]


def test_register_classifies_records_reasons_and_opens_the_p1_phone_step(
        helpdesk: Helpdesk, clock: ManualClock) -> None:
    v = helpdesk.register(subject="Production down", client="acme", channel=Channel.EMAIL,
                          body="Since 09:00 all users get errors. There is no workaround.",
                          requester="jo@acme.example")
    t = v.ticket
    assert t.reference == f"T-{1000 + (t.id or 0)}"
    assert t.priority == Priority.P1 and t.status == TicketStatus.NEW
    assert t.client_name == "acme" and t.policy == "panenco"
    assert kinds(v) == ["registered", "priority_set", "phone_followup_required"]
    classified = t.events[1]
    assert classified.actor == "classifier" and classified.data["priority"] == "P1"
    assert classified.data["reasons"], "the reasons are recorded with the priority"
    assert t.phone_followup == "pending"
    response = v.clocks["response"]
    assert response.status == ClockStatus.RUNNING
    assert response.due == datetime(2026, 11, 23, 11, 0, tzinfo=BRU)  # 09:00 + 2h
    assert v.clocks["resolution"].status == ClockStatus.NOT_STARTED
    # and it is really stored
    assert helpdesk.show(t.reference).ticket.events == t.events


def test_unknown_sender_goes_to_the_unassigned_queue_under_the_default_policy(
        helpdesk: Helpdesk) -> None:
    v = helpdesk.register(subject="Question about invoices", body="How do I download them?")
    assert v.ticket.client_id is None and v.ticket.client_name == ""
    assert v.policy.name == "panenco"
    assert v.ticket.priority == Priority.P4


def test_client_default_applies_when_the_text_says_nothing(helpdesk: Helpdesk) -> None:
    v = helpdesk.register(subject="hello", body="see attached", client="nightowl")
    assert v.ticket.priority == Priority.P4 and v.policy.name == "demo247"


def test_staff_priority_at_registration_is_audited_against_the_classification(
        helpdesk: Helpdesk) -> None:
    v = helpdesk.register(subject="Typo on the about page", client="acme",
                          priority=Priority.P2, actor="alice", reason="board meeting tomorrow")
    sets = [e for e in v.ticket.events if e.kind == EventKind.PRIORITY_SET]
    assert [e.actor for e in sets] == ["classifier", "alice"]
    assert sets[1].data == {"priority": "P2", "previous": sets[0].data["priority"],
                            "reason": "board meeting tomorrow"}
    assert v.ticket.priority == Priority.P2


def test_unknown_client_and_ticket_are_not_found(helpdesk: Helpdesk) -> None:
    with pytest.raises(NotFound, match="no client named 'nobody'"):
        helpdesk.register(subject="x", client="nobody")
    with pytest.raises(NotFound, match="T-9999"):
        helpdesk.show("T-9999")
    with pytest.raises(NotFound, match="not a ticket reference"):
        helpdesk.show("banana")


def test_priority_change_needs_a_reason_re_derives_clocks_and_follows_the_phone_step(
        helpdesk: Helpdesk, clock: ManualClock) -> None:
    ref = helpdesk.register(subject="Slow reports", body="reports are slow for some users",
                            client="acme").reference
    assert helpdesk.show(ref).ticket.priority == Priority.P2
    with pytest.raises(InvalidAction, match="reason"):
        helpdesk.set_priority(ref, Priority.P1, actor="alice", reason=" ")
    with pytest.raises(InvalidAction, match="already P2"):
        helpdesk.set_priority(ref, Priority.P2, actor="alice", reason="same")
    clock.advance(timedelta(minutes=30))
    v = helpdesk.set_priority(ref, Priority.P1, actor="alice", reason="CEO cannot work")
    assert v.ticket.phone_followup == "pending"
    # the P1 target applies from registration: 09:00 + 2h
    assert v.clocks["response"].due == datetime(2026, 11, 23, 11, 0, tzinfo=BRU)
    v = helpdesk.set_priority(ref, Priority.P3, actor="alice", reason="workaround found")
    assert v.ticket.phone_followup == "waived"
    assert v.clocks["response"].due == datetime(2026, 11, 23, 15, 0, tzinfo=BRU)  # 6h
    v = helpdesk.set_priority(ref, Priority.P1, actor="alice", reason="workaround failed")
    assert v.ticket.phone_followup == "pending"
    assert kinds(v).count("phone_followup_required") == 2
    v = helpdesk.confirm_phone_followup(ref, actor="alice", note="client called 10:05")
    assert v.ticket.phone_followup == "confirmed"
    with pytest.raises(InvalidAction, match="already confirmed"):
        helpdesk.confirm_phone_followup(ref, actor="alice")


def test_full_life_cycle_with_both_clocks(helpdesk: Helpdesk, clock: ManualClock) -> None:
    ref = helpdesk.register(subject="Checkout is down for everyone", client="acme",
                            body="No workaround, all users blocked.").reference
    clock.advance(timedelta(minutes=45))
    v = helpdesk.respond(ref, actor="alice", message="We are on it")
    assert v.ticket.status == TicketStatus.OPEN
    assert v.clocks["response"].status == ClockStatus.MET
    assert v.clocks["response"].used == timedelta(minutes=45)
    clock.advance(timedelta(minutes=15))  # 10:00
    v = helpdesk.confirm_cause(ref, actor="alice", note="bug in payment module")
    assert v.clocks["resolution"].due == datetime(2026, 11, 23, 18, 0, tzinfo=BRU)  # 8h: 18:00
    with pytest.raises(InvalidAction, match="already confirmed"):
        helpdesk.confirm_cause(ref, actor="alice")
    v = helpdesk.log_time(ref, 1.5, actor="alice", note="debugging")
    assert v.ticket.time_logged_hours() == 1.5
    clock.set(datetime(2026, 11, 23, 17, 0, tzinfo=BRU))
    v = helpdesk.resolve(ref, actor="alice", note="hotfix deployed")
    assert v.ticket.status == TicketStatus.RESOLVED
    assert v.clocks["resolution"].status == ClockStatus.MET
    with pytest.raises(InvalidAction, match="already resolved"):
        helpdesk.resolve(ref, actor="alice")
    # reopened the next morning: the resolution clock runs on with 1h left
    clock.set(datetime(2026, 11, 24, 9, 0, tzinfo=BRU))
    v = helpdesk.reopen(ref, actor="alice", reason="client still sees errors")
    assert v.clocks["resolution"].status == ClockStatus.RUNNING
    assert v.clocks["resolution"].due == datetime(2026, 11, 24, 10, 0, tzinfo=BRU)
    clock.set(datetime(2026, 11, 24, 11, 0, tzinfo=BRU))
    v = helpdesk.show(ref)
    assert v.clocks["resolution"].status == ClockStatus.BREACHED
    assert v.at_risk()
    v = helpdesk.resolve(ref, actor="alice")
    v = helpdesk.close(ref, actor="alice")
    assert v.ticket.status == TicketStatus.CLOSED
    for action in (lambda: helpdesk.respond(ref, actor="a"),
                   lambda: helpdesk.set_priority(ref, Priority.P4, actor="a", reason="r"),
                   lambda: helpdesk.close(ref, actor="a")):
        with pytest.raises(InvalidAction, match="closed"):
            action()


def test_pause_and_resume_follow_the_state_rules(helpdesk: Helpdesk, clock: ManualClock) -> None:
    ref = helpdesk.register(subject="Export broken", client="nightowl",
                            body="exports fail for some users").reference
    with pytest.raises(InvalidAction, match="not paused"):
        helpdesk.resume(ref, actor="alice")
    with pytest.raises(InvalidAction, match="reason"):
        helpdesk.pause(ref, actor="alice", reason="")
    clock.advance(timedelta(minutes=4))
    v = helpdesk.pause(ref, actor="alice", reason="waiting for the client's export file")
    assert v.ticket.status == TicketStatus.PAUSED
    assert v.clocks["response"].status == ClockStatus.PAUSED  # demo247 lets it pause
    with pytest.raises(InvalidAction, match="only new or open"):
        helpdesk.pause(ref, actor="alice", reason="again")
    clock.advance(timedelta(hours=3))
    v = helpdesk.resume(ref, actor="alice")
    assert v.ticket.status == TicketStatus.NEW  # nobody answered yet
    assert v.clocks["response"].used == timedelta(minutes=4)
    with pytest.raises(InvalidAction, match="only resolved"):
        helpdesk.reopen(ref, actor="alice", reason="x")


def test_log_time_and_note_validate_their_input(helpdesk: Helpdesk) -> None:
    ref = helpdesk.register(subject="x", client="acme").reference
    for hours in (0, -1, 25):
        with pytest.raises(InvalidAction, match="hours"):
            helpdesk.log_time(ref, hours, actor="alice")
    with pytest.raises(InvalidAction, match="empty"):
        helpdesk.note(ref, "  ", actor="alice")
    v = helpdesk.note(ref, "called the client", actor="alice")
    assert v.ticket.events[-1].data == {"text": "called the client"}
    v = helpdesk.assign(ref, "alice", actor="bob")
    assert v.ticket.assignee == "alice"
    assert helpdesk.show(ref).ticket.assignee == "alice"


def test_list_filters_and_orders_at_risk_by_due(helpdesk: Helpdesk, clock: ManualClock) -> None:
    calm = helpdesk.register(subject="Typo in footer", client="acme").reference
    urgent = helpdesk.register(subject="Site down for all users", client="acme",
                               body="no workaround").reference
    night = helpdesk.register(subject="Reports slow for some users", client="nightowl").reference
    clock.advance(timedelta(minutes=40))  # nightowl P2 (10m) breached; acme P1 has 80m of 120m
    helpdesk.assign(urgent, "alice", actor="bob")
    assert [v.reference for v in helpdesk.list()] == [night, urgent, calm]
    assert [v.reference for v in helpdesk.list(client="acme")] == [urgent, calm]
    assert [v.reference for v in helpdesk.list(assignee="alice")] == [urgent]
    assert [v.reference for v in helpdesk.list(at_risk=True)] == [night]
    clock.advance(timedelta(minutes=60))  # acme P1 now has 20 of 120 minutes left
    assert [v.reference for v in helpdesk.list(at_risk=True)] == [night, urgent]
    helpdesk.resolve(night, actor="alice")
    assert [v.reference for v in helpdesk.list(statuses=[TicketStatus.RESOLVED])] == [night]


def test_sync_directory_refuses_a_client_with_an_unknown_policy(helpdesk: Helpdesk) -> None:
    from bot.errors import PolicyError
    from bot.model import Client

    with pytest.raises(PolicyError, match="no such policy"):
        helpdesk.sync_directory([Client(name="ghost", policy="nope")])
    with pytest.raises(NotFound):
        helpdesk.client("ghost")


def test_clock_instants_are_aware_utc(helpdesk: Helpdesk, clock: ManualClock) -> None:
    v = helpdesk.register(subject="x", client="acme")
    assert v.ticket.created_at == clock.now() and v.ticket.created_at.tzinfo == UTC


def test_closing_stops_every_running_clock(helpdesk: Helpdesk, clock: ManualClock) -> None:
    ref = helpdesk.register(subject="Spam: cheap watches", client="acme").reference
    helpdesk.confirm_cause(ref, actor="alice")
    clock.advance(timedelta(minutes=10))
    v = helpdesk.close(ref, actor="alice", note="not an incident")
    assert {n: c.running for n, c in v.clocks.items()} == {"response": False,
                                                           "resolution": False}
    clock.advance(timedelta(days=30))
    assert not any(c.breached for c in helpdesk.show(ref).clocks.values())


def test_staff_priority_that_agrees_with_the_classifier_is_still_audited(
        helpdesk: Helpdesk) -> None:
    v = helpdesk.register(subject="Typo on the about page", client="acme",
                          priority=Priority.P4, actor="alice", reason="caller said so")
    sets = [(e.actor, e.data["priority"]) for e in v.ticket.events
            if e.kind == EventKind.PRIORITY_SET]
    assert sets == [("classifier", "P4"), ("alice", "P4")]


def test_listing_an_unknown_client_is_an_error(helpdesk: Helpdesk) -> None:
    with pytest.raises(NotFound, match="no client named 'acm'"):
        helpdesk.list(client="acm")


def test_events_a_listener_appends_are_told_to_every_listener(helpdesk: Helpdesk) -> None:
    """A listener's own news (paging started, a mail queued) reaches listeners added before
    it, once, and in the same transaction; the order listeners were added in does not matter."""

    heard: list[list[str]] = []

    def recorder(uow, view, events):  # type: ignore[no-untyped-def]
        heard.append([e.kind.value for e in events])

    def pager(uow, view, events):  # type: ignore[no-untyped-def]
        if any(e.kind == EventKind.REGISTERED for e in events):
            view.ticket.paging(EventKind.PAGE_STARTED, now=view.now, data={})

    helpdesk.listeners[:] = [recorder, pager]
    ref = helpdesk.register(subject="Site down", client="acme", priority=Priority.P1,
                            actor="alice", reason="down").reference
    assert heard == [["registered", "priority_set", "priority_set", "phone_followup_required"],
                     ["page_started"]]
    assert kinds(helpdesk.show(ref))[-1] == "page_started"  # committed with the registration

    heard.clear()
    helpdesk.listeners[:] = [pager, recorder]
    helpdesk.register(subject="Site down again", client="acme", priority=Priority.P1,
                      actor="alice", reason="down")
    assert heard == [["registered", "priority_set", "priority_set", "phone_followup_required"],
                     ["page_started"]]


def test_a_listener_loop_is_stopped_and_rolls_back(helpdesk: Helpdesk) -> None:

    def echo(uow, view, events):  # type: ignore[no-untyped-def]
        view.ticket.note("!", actor="echo", now=view.now)

    helpdesk.listeners[:] = [echo]
    with pytest.raises(RuntimeError, match="listeners kept recording"):
        helpdesk.register(subject="Loop", client="acme", actor="alice")
    helpdesk.listeners[:] = []
    assert helpdesk.list() == []


def test_a_ticket_resolved_unanswered_stops_its_response_clock_at_the_resolution(
        helpdesk: Helpdesk, clock: ManualClock) -> None:
    """Resolved without a response first: the response clock stops at the resolution
    (breached if that was late), instead of running on for ever on a resolved ticket."""
    ref = helpdesk.register(subject="Export slow", client="acme", priority=Priority.P3,
                            actor="alice", reason="slow").reference
    target = helpdesk.show(ref).clocks["response"].target
    clock.advance(timedelta(days=7))  # well past the P3 response target
    helpdesk.resolve(ref, actor="alice", note="index added")
    late = helpdesk.show(ref).clocks["response"]
    assert not late.running and late.breached and late.stopped_at == clock.now()
    clock.advance(timedelta(days=30))
    later = helpdesk.show(ref).clocks["response"]
    assert later.used == late.used > target  # the lateness stays what it was

    quick = helpdesk.register(subject="Typo on page", client="acme", priority=Priority.P4,
                              actor="alice", reason="cosmetic").reference
    clock.advance(timedelta(minutes=30))
    helpdesk.resolve(quick, actor="alice")
    met = helpdesk.show(quick).clocks["response"]
    assert not met.running and not met.breached and met.stopped_at == clock.now()
