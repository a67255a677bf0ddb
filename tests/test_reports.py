"""SLA reports over generated ticket histories. The expected figures are computed here, on their
own: due instants and lateness from the slow reference arithmetic in ``tests/sla_reference.py``,
the settlement and credit rules written out directly from the contract's words."""

from __future__ import annotations

import csv
import io
import json
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot.model import Channel, Client, Event, EventKind, TicketStatus
from bot.priority import Priority
from bot.reports import compute_report, parse_period, period_containing, render
from bot.reports.periods import Period, PeriodError
from bot.sla import load_policy
from bot.ticket import Ticket
from tests.sla_reference import ref_add, ref_working_time

BXL = ZoneInfo("Europe/Brussels")
PANENCO = load_policy("panenco")
ACME = Client(name="acme", policy="panenco", invoice_amount=12_000.0, id=1)
SPRINT = Period(date(2026, 11, 23), date(2026, 12, 7))  # a panenco sprint (anchor 2021-09-06)
XMAS_SPRINT = Period(date(2026, 12, 21), date(2027, 1, 4))
RESPONSE = {"P1": 2, "P2": 4, "P3": 6, "P4": 8}  # hours, from the contract's text
RESOLUTION = {"P1": 8, "P2": 24, "P3": 40, "P4": 120}


def bxl(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=BXL)


def ticket(tid: int, registered: datetime, priority: str, *steps: tuple[EventKind, datetime],
           kind: str = "incident", extra: list[Event] | None = None) -> Ticket:
    events = [Event(EventKind.REGISTERED, registered.astimezone(UTC), id=tid * 100),
              Event(EventKind.PRIORITY_SET, registered.astimezone(UTC),
                    data={"priority": priority}, id=tid * 100 + 1)]
    events += [Event(k, at.astimezone(UTC), id=tid * 100 + 2 + i)
               for i, (k, at) in enumerate(steps)]
    events += extra or []
    return Ticket(client_id=1, client_name="acme", policy="panenco", subject=f"issue {tid}",
                  priority=Priority(priority), channel=Channel.EMAIL, status=TicketStatus.OPEN,
                  created_at=registered.astimezone(UTC), kind=kind, id=tid, events=events)


def report(tickets: list[Ticket], period: Period = SPRINT, now: datetime | None = None,
           client: Client = ACME):
    return compute_report(PANENCO, client, period, tickets,
                          now or datetime(2030, 1, 1, tzinfo=UTC))


# -- the contract's rules on hand-made histories ---------------------------------------------------


def test_credit_is_a_quarter_of_the_invoice_for_each_p1_p2_resolution_breach_after_the_first(
) -> None:
    # three P1/P2 resolution breaches in the sprint, one P3 breach (no credit), one P1 in time
    def late(tid: int, prio: str, day: int) -> Ticket:
        t0 = bxl(2026, 11, day, 9)
        return ticket(tid, t0, prio, (EventKind.RESPONDED, t0 + timedelta(minutes=30)),
                      (EventKind.CAUSE_CONFIRMED, t0 + timedelta(hours=1)),
                      (EventKind.RESOLVED, t0 + timedelta(days=7)))
    ok = ticket(5, bxl(2026, 11, 30, 9), "P1", (EventKind.RESPONDED, bxl(2026, 11, 30, 9, 10)),
                (EventKind.CAUSE_CONFIRMED, bxl(2026, 11, 30, 10)),
                (EventKind.RESOLVED, bxl(2026, 11, 30, 15)))
    r = report([late(1, "P1", 23), late(2, "P2", 24), late(3, "P3", 24), late(4, "P1", 25), ok])
    (credit,) = r.credits
    # in the order they became late: P1 (8h) of Wed 25 Nov before P2 (24h) of Tue 24 Nov
    assert credit.breaches == ("T-1001", "T-1004", "T-1002")
    assert credit.charged == ("T-1004", "T-1002")
    assert credit.amount == Decimal("6000.00")
    assert r.credit_total == Decimal("6000.00")
    p1 = r.priorities[0]
    assert (p1.clocks["resolution"].met, p1.clocks["resolution"].total) == (1, 3)
    assert p1.clocks["resolution"].meets_target is False

    one = report([late(1, "P1", 23), late(3, "P3", 24), ok])
    assert one.credits[0].breaches == ("T-1001",)
    assert one.credits[0].amount == Decimal("0.00")
    md = render(r, "md")
    assert "2 charged at 25.0% of 12000.00 EUR: 6000.00 EUR" in md


def test_a_breach_straddling_christmas_is_late_by_working_time_only() -> None:
    # P1 resolution: 8h from Thu 24 Dec 09:00 -> due 17:00; resolved Mon 28 Dec 10:00.
    # Late: Thu 17:00-18:00, then Christmas (Fri), the weekend, Mon 09:00-10:00 = 2h.
    t = ticket(1, bxl(2026, 12, 24, 8, 30), "P1",
               (EventKind.RESPONDED, bxl(2026, 12, 24, 8, 45)),
               (EventKind.CAUSE_CONFIRMED, bxl(2026, 12, 24, 9)),
               (EventKind.RESOLVED, bxl(2026, 12, 28, 10)))
    r = report([t], XMAS_SPRINT)
    (b,) = r.breaches
    assert (b.reference, b.clock, b.due) == ("T-1001", "resolution", bxl(2026, 12, 24, 17))
    assert b.late == timedelta(hours=2)
    assert b.late == ref_working_time(PANENCO.calendar, b.due, bxl(2026, 12, 28, 10))
    assert "late by 2h00m of working time" in render(r, "md")
    assert json.loads(render(r, "json"))["breaches"][0]["late_working_seconds"] == 7200


def test_open_tickets_at_period_end_are_breached_if_late_else_carried_and_counted_once() -> None:
    end = SPRINT.end_at(BXL)  # Mon 7 Dec 00:00
    # late at the end: P1 registered Fri 4 Dec 15:00, response due 17:00, answered Tue 8 Dec
    late = ticket(1, bxl(2026, 12, 4, 15), "P1", (EventKind.RESPONDED, bxl(2026, 12, 8, 9)))
    # not late at the end: P4 registered Fri 4 Dec 16:00 (8h: due Mon 7 Dec 15:00), answered
    # Mon 7 Dec 10:00
    carried = ticket(2, bxl(2026, 12, 4, 16), "P4", (EventKind.RESPONDED, bxl(2026, 12, 7, 10)))
    now = datetime(2027, 1, 1, tzinfo=UTC)
    r = report([late, carried], SPRINT, now)
    assert r.final and r.as_of == end
    assert r.carried == ("T-1002",)
    (b,) = r.breaches
    assert b.stopped_at is None  # still open when the sprint ended
    assert b.late == ref_working_time(PANENCO.calendar, bxl(2026, 12, 4, 17), end) \
        == timedelta(hours=1)
    assert [(p.clocks["response"].met, p.clocks["response"].total)
            for p in r.priorities] == [(0, 1), (0, 0), (0, 0), (0, 0)]
    assert "Carried over: T-1002." in render(r, "md")

    nxt = report([late, carried], Period(date(2026, 12, 7), date(2026, 12, 21)), now)
    # the carried ticket is counted (met) in the sprint its clock stopped in; the late one is not
    # counted a second time
    assert [(p.clocks["response"].met, p.clocks["response"].total)
            for p in nxt.priorities] == [(0, 0), (0, 0), (0, 0), (1, 1)]
    assert nxt.breaches == ()


def test_a_provisional_report_counts_what_has_happened_and_says_so() -> None:
    t = ticket(1, bxl(2026, 11, 24, 10), "P2", (EventKind.RESPONDED, bxl(2026, 11, 24, 11)))
    r = report([t], SPRINT, now=bxl(2026, 11, 25, 12).astimezone(UTC))
    assert not r.final
    assert r.carried == ("T-1001",)  # the resolution clock has not started: still open
    assert "provisional, as of 2026-11-25 12:00" in render(r, "md")


def test_periods_follow_the_policy() -> None:
    c = PANENCO.compliance
    assert period_containing(c, date(2026, 12, 6)) == SPRINT
    assert period_containing(c, date(2026, 12, 7)).first == date(2026, 12, 7)
    assert parse_period("previous", c, date(2026, 12, 1)) == Period(date(2026, 11, 9),
                                                                    date(2026, 11, 23))
    assert parse_period("2026-01-01/2026-01-31", c, date(2026, 12, 1)) == \
        Period(date(2026, 1, 1), date(2026, 2, 1))
    yearly = load_policy("spinpanel").compliance
    assert period_containing(yearly, date(2027, 3, 5)) == Period(date(2027, 1, 1),
                                                                 date(2028, 1, 1))
    assert period_containing(yearly, date(2025, 12, 31)) == Period(date(2025, 1, 1),
                                                                   date(2026, 1, 1))
    for bad in ("last", "2026-01-31/2026-01-01", "2026-13-01/2026-12-01"):
        with pytest.raises(PeriodError, match=r"period|before"):
            parse_period(bad, c, date(2026, 1, 1))


# -- generated histories, checked against figures computed here -------------------------------


@dataclass
class Plan:
    """What the generator decided for one ticket, in the terms the contract uses."""

    t: Ticket
    priority: str
    registered: datetime
    responded: datetime | None
    confirmed: datetime | None
    resolved: datetime | None
    hours: list[tuple[datetime, float]]


def generate(seed: int, n: int) -> list[Plan]:
    rng = random.Random(seed)
    first = bxl(2026, 11, 2)  # two sprints before SPRINT ... one after it
    plans = []
    for tid in range(1, n + 1):
        reg = first + timedelta(minutes=rng.randrange(0, 60 * 24 * 49))
        prio = rng.choice(["P1", "P1", "P2", "P2", "P3", "P4"])
        responded = reg + timedelta(minutes=rng.choice([5, 60, 150, 300, 600, 2000, 6000])) \
            if rng.random() < 0.9 else None
        confirmed = (responded or reg) + timedelta(minutes=rng.randrange(1, 600)) \
            if rng.random() < 0.7 else None
        resolved = confirmed + timedelta(minutes=rng.choice([60, 400, 900, 2500, 9000, 30000])) \
            if confirmed and rng.random() < 0.85 else None
        steps = [(EventKind.RESPONDED, responded)] if responded else []
        steps += [(EventKind.CAUSE_CONFIRMED, confirmed)] if confirmed else []
        steps += [(EventKind.RESOLVED, resolved)] if resolved else []
        hours = [(reg + timedelta(hours=rng.randrange(1, 200)), rng.choice([0.25, 0.5, 1.5]))
                 for _ in range(rng.randrange(0, 3))]
        t = ticket(tid, reg, prio, *steps, extra=[
            Event(EventKind.TIME_LOGGED, at.astimezone(UTC), data={"hours": h},
                  id=tid * 100 + 50 + i) for i, (at, h) in enumerate(hours)])
        plans.append(Plan(t, prio, reg, responded, confirmed, resolved, hours))
    return plans


def expected(plans: list[Plan], period: Period, now: datetime) -> dict:
    """The report's figures from the contract's words, with the reference arithmetic."""
    cal = PANENCO.calendar
    start, end = period.start_at(BXL), period.end_at(BXL)
    as_of = min(now, end)
    figures: Counter[tuple[str, str, str]] = Counter()
    breaches = []
    hours: dict[str, Decimal] = {p: Decimal(0) for p in RESPONSE}
    for p in plans:
        if p.registered >= as_of:
            continue
        for clock, began, stopped, target in (
                ("response", p.registered, p.responded, RESPONSE[p.priority]),
                ("resolution", p.confirmed, p.resolved, RESOLUTION[p.priority])):
            if began is None or began > as_of:
                continue
            stop = stopped if stopped is not None and stopped <= as_of else None
            due = ref_add(cal, began, timedelta(hours=target))
            if stop is not None:
                breached = stop > due
                settled = due if breached else stop
            elif as_of > due:
                breached, settled = True, due
            else:
                continue  # carried over
            if start <= settled < end:
                figures[(p.priority, clock, "total")] += 1
                if breached:
                    breaches.append((p.t.reference, clock, due, ref_working_time(
                        cal, due, stop or as_of), p.priority))
                else:
                    figures[(p.priority, clock, "met")] += 1
        for at, h in p.hours:
            if start <= at < as_of:
                # hours count at the ticket's level (the generator never changes a priority)
                hours[p.priority] += Decimal(str(h))
    charged = max(0, len([b for b in breaches if b[1] == "resolution"
                          and b[4] in ("P1", "P2")]) - 1)
    return {"figures": figures, "breaches": sorted(breaches, key=lambda b: (b[2], b[0], b[1])),
            "credit": (Decimal("12000") * Decimal("0.25") * charged).quantize(Decimal("0.01")),
            "hours": hours}


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("now", [datetime(2027, 6, 1, tzinfo=UTC),
                                 bxl(2026, 12, 2, 13, 30).astimezone(UTC)])
def test_generated_histories_match_independently_computed_figures(seed: int,
                                                                   now: datetime) -> None:
    plans = generate(seed, 120)
    want = expected(plans, SPRINT, now)
    r = report([p.t for p in plans], SPRINT, now)
    got: Counter[tuple[str, str, str]] = Counter()
    for pf in r.priorities:
        for clock, c in pf.clocks.items():
            if c.total:
                got[(pf.priority.value, clock, "total")] = c.total
            if c.met:
                got[(pf.priority.value, clock, "met")] = c.met
    assert got == want["figures"]
    assert [(b.reference, b.clock, b.due, b.late, b.priority.value) for b in r.breaches] == \
        want["breaches"]
    assert r.credits[0].amount == want["credit"]
    assert {p.priority.value: p.hours for p in r.priorities} == want["hours"]
    assert sum(want["figures"].values()) > 20  # the generator produced a real mix
    assert want["breaches"] and len(want["breaches"]) < sum(
        v for k, v in want["figures"].items() if k[2] == "total")


# -- the rendered forms -----------------------------------------------------------------------


def test_every_format_is_byte_reproducible_and_names_the_policy_version() -> None:
    plans = generate(7, 80)
    now = datetime(2027, 1, 1, tzinfo=UTC)
    tickets = [p.t for p in plans]
    for fmt in ("md", "html", "csv", "json"):
        a = render(report(tickets, SPRINT, now), fmt)
        b = render(report(list(reversed(tickets)), SPRINT, now), fmt)
        assert a == b, fmt
        if fmt != "csv":
            assert PANENCO.version in a, fmt
    doc = json.loads(render(report(tickets, SPRINT, now), "json"))
    assert doc["policy"]["version"] == PANENCO.version
    assert doc["final"] is True


def test_csv_has_one_row_per_ticket_and_html_is_self_contained() -> None:
    plans = generate(11, 80)
    r = report([p.t for p in plans], SPRINT, datetime(2027, 1, 1, tzinfo=UTC))
    rows = list(csv.DictReader(io.StringIO(render(r, "csv"))))
    assert [row["ticket"] for row in rows] == [t.reference for t in r.tickets]
    assert len({row["ticket"] for row in rows}) == len(rows) > 10
    counted = sum(row["response_counted"] == "yes" for row in rows)
    assert counted == sum(p.clocks["response"].total for p in r.priorities)
    page = render(r, "html")
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") == 2
    # nothing to fetch: no scripts, no external references beyond the SVG namespace
    assert "<script" not in page and "src=" not in page and "<link" not in page
    assert page.replace('xmlns="http://www.w3.org/2000/svg"', "").count("http") == 0
    assert "T-1" in page and "25.0%" in page


def test_progress_is_told_after_each_ticket_and_the_figures_do_not_change() -> None:
    tickets = [ticket(i, bxl(2026, 11, 23, 9) + timedelta(hours=i), "P2",
                      (EventKind.RESOLVED, bxl(2026, 11, 23, 10) + timedelta(hours=i)))
               for i in range(1, 8)]
    told: list[tuple[int, int]] = []
    with_progress = compute_report(PANENCO, ACME, SPRINT, reversed(tickets),
                                   datetime(2030, 1, 1, tzinfo=UTC),
                                   progress=lambda done, total: told.append((done, total)))
    assert told == [(n, 7) for n in range(1, 8)]
    assert render(with_progress, "json") == render(report(tickets), "json")
