"""Change requests: recognised by their own rule or marked by staff, answered within ten working
days of the policy's calendar, and reported in a section of their own."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.change_requests import CLOCK
from bot.classify.change_request import change_request_reason
from bot.clock import ManualClock
from bot.clocks import ClockStatus
from bot.priority import Priority
from bot.reports import Period, compute_report, render
from bot.services import Helpdesk
from bot.sla import load_policy

BXL = ZoneInfo("Europe/Brussels")


@pytest.mark.parametrize("subject, body", [
    ("Change request: export to CSV", ""),
    ("[CR] extra field on the invoice", ""),
    ("Re: [acme] Feature request - dark mode", ""),
    ("Wijzigingsverzoek: dashboard", ""),
    ("Demande d'évolution : export", ""),
    ("Question", "Hello,\nType: feature request\nCould you add a filter?"),
])
def test_change_requests_are_recognised(subject: str, body: str) -> None:
    reason = change_request_reason(subject, body)
    assert reason is not None and "change request" in reason.text


@pytest.mark.parametrize("subject, body", [
    ("Site down after the change request was deployed", ""),
    ("Not a feature request: checkout broken", ""),
    ("Checkout broken", "This is not a change request, everything fails."),
    ("Crash on login", "The change request from last week did not cause this."),
])
def test_incidents_that_mention_a_change_are_not_change_requests(subject: str,
                                                                 body: str) -> None:
    assert change_request_reason(subject, body) is None


def test_a_change_request_is_due_at_the_close_of_the_tenth_working_day(
        helpdesk: Helpdesk, clock: ManualClock) -> None:
    # filed Fri 18 Dec 2026 16:00: working days after it, skipping the weekends, Christmas
    # (Fri 25 Dec) and New Year (Fri 1 Jan): 21 22 23 24 28 29 30 31 Dec, 4 5 Jan -> Tue 5 Jan
    days = [date(2026, 12, d) for d in (21, 22, 23, 24, 28, 29, 30, 31)] + \
        [date(2027, 1, 4), date(2027, 1, 5)]
    assert all(d.weekday() < 5 for d in days) and len(days) == 10
    clock.set(datetime(2026, 12, 18, 16, tzinfo=BXL))
    view = helpdesk.register(subject="Change request: CSV export", body="Please add it.",
                             client="acme", actor="t")
    assert view.ticket.kind == "change_request"
    assert list(view.clocks) == [CLOCK]
    c = view.clocks[CLOCK]
    assert c.due == datetime(2027, 1, 5, 18, tzinfo=BXL)
    assert c.status == ClockStatus.RUNNING
    registered = view.ticket.events[0]
    assert "change request" in registered.data["kind_reason"]

    clock.set(datetime(2027, 1, 5, 17, 59, tzinfo=BXL))
    assert helpdesk.respond(view.reference, actor="t").clocks[CLOCK].status == ClockStatus.MET

    # marked by staff, and late: filed Mon 4 Jan 2027 10:00, due Mon 18 Jan 18:00
    clock.set(datetime(2027, 1, 4, 10, tzinfo=BXL))
    marked = helpdesk.register(subject="Dark mode", client="acme", actor="t",
                               kind="change_request", priority=Priority.P4)
    assert marked.clocks[CLOCK].due == datetime(2027, 1, 18, 18, tzinfo=BXL)
    clock.set(datetime(2027, 1, 19, 10, tzinfo=BXL))
    late = helpdesk.respond(marked.reference, actor="t")
    assert late.clocks[CLOCK].breached

    incident = helpdesk.register(subject="Checkout broken", client="acme", actor="t")
    assert incident.ticket.kind == "incident" and "response" in incident.clocks

    acme = helpdesk.client("acme")
    with helpdesk._uow() as uow:
        tickets = uow.tickets.list(client="acme")
    r = compute_report(load_policy("panenco"), acme, Period(date(2027, 1, 4), date(2027, 1, 18)),
                       tickets, datetime(2027, 2, 1, tzinfo=UTC))
    assert [(c.reference, c.outcome) for c in r.change_requests] == [
        (view.reference, "met"), (marked.reference, "open")]
    assert r.tickets == ()  # change requests are not incidents
    md = render(r, "md")
    assert f"- {marked.reference} Dark mode: due 2027-01-18 18:00, not answered yet (open)" in md

    nxt = compute_report(load_policy("panenco"), acme,
                         Period(date(2027, 1, 18), date(2027, 2, 1)), tickets,
                         datetime(2027, 2, 1, tzinfo=UTC))
    (cr,) = nxt.change_requests
    assert (cr.reference, cr.outcome) == (marked.reference, "late")
    assert cr.late == timedelta(hours=1)  # Mon 18 Jan 18:00 -> Tue 19 Jan 10:00, working time
    assert [t.reference for t in nxt.tickets] == [incident.reference]
