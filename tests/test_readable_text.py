"""Text for people, where it is made: reminders, the ticket list, mail notices, Slack answers
and triage lines read to the minute, in the policy's zone, with phone numbers grouped."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from adapters.bootstrap import bootstrap
from adapters.cli import main
from adapters.render import ticket_table, ticket_text
from adapters.slack.format import event_line
from adapters.slack.intake import registered_text
from adapters.storage import Database, SqlUnitOfWork
from adapters.storage.outbox import OutboxStore
from bot import readable
from bot.clock import ManualClock
from bot.clocks import derive_clocks
from bot.mail.notify import MailNotifier
from bot.model import Channel, Event, EventKind, TicketStatus
from bot.priority import Priority
from bot.reminders import build_alert, decide, plan_ticket
from bot.services import Helpdesk
from bot.sla import load_policy
from bot.ticket import Ticket
from config.settings import load_settings
from tests.procs import storage_toml

BRU = ZoneInfo("Europe/Brussels")
PANENCO = load_policy("panenco")
CLIENTS = """
[[clients]]
name = "acme"
policy = "panenco"
email_domains = ["acme.example"]

[[clients]]
name = "nightowl"
policy = "demo247"
email_domains = ["nightowl.example"]
"""
ODD = timedelta(seconds=0.062741)
"""A sliver of a second: how far off a minute the wall clock is when text is made."""


def test_a_reminder_reads_to_the_minute() -> None:
    mon = datetime(2026, 11, 23, 12, 0, tzinfo=BRU)
    t = Ticket(client_id=1, client_name="acme", policy="panenco", subject="Checkout down",
               priority=Priority.P2, channel=Channel.EMAIL, status=TicketStatus.NEW,
               created_at=mon, id=1, events=[Event(EventKind.REGISTERED, mon, "seed", {})])
    now = mon + timedelta(hours=3) + ODD
    r = decide(plan_ticket(1, "T-1001", Priority.P2, PANENCO, t.events, now,
                           specs=PANENCO.clocks), set(), now).send[0]
    state = derive_clocks(PANENCO.clocks, PANENCO, Priority.P2, t.events, now)["response"]
    a = build_alert(r, t, PANENCO, state, now)
    assert "is due Mon 23 Nov 2026 16:00 CET: 1h of working time left (75% of 4h used)" \
        in a.text, a.text
    assert "0.06" not in a.text and ":00:00" not in a.text


def test_the_list_shows_working_time_left_and_the_due_instant(
        helpdesk: Helpdesk, clock: ManualClock) -> None:
    clock.set(datetime(2026, 11, 23, 17, 0, tzinfo=BRU) + ODD)  # an hour before closing
    helpdesk.register(subject="Export is slow", client="acme", priority=Priority.P2,
                      actor="alice")
    clock.advance(timedelta(minutes=1, seconds=29))
    [row] = ticket_table(helpdesk.list())[1:]
    # 4h of working time: the last hour of Monday and three of Tuesday morning
    assert "response due Tue 24 Nov 12:00 CET (3h59m working time left)" in row, row


def test_at_risk_has_a_header_and_says_how_late(helpdesk: Helpdesk, clock: ManualClock) -> None:
    late = helpdesk.register(subject="Site down", client="nightowl", priority=Priority.P1,
                             actor="alice").reference  # 24/7: 5 minutes to respond
    fine = helpdesk.register(subject="Question", client="nightowl", priority=Priority.P4,
                             actor="alice").reference
    helpdesk.respond(fine, actor="alice")
    clock.advance(timedelta(hours=1) + ODD)
    lines = ticket_table(helpdesk.list(at_risk=True), at_risk=True)
    assert lines[0].startswith("At risk: 1 ticket ")
    assert lines[1].split()[:4] == ["TICKET", "PRI", "STATUS", "CLIENT"]
    [row] = lines[2:]
    assert row.startswith(late)
    assert "response BREACHED: due Mon 23 Nov 08:05 UTC, 55m working time late" in row, row


def test_a_priority_notice_reads_to_the_minute(helpdesk: Helpdesk, clock: ManualClock,
                                               database: Database) -> None:
    helpdesk.listeners.append(MailNotifier("support@provider.example"))
    ref = helpdesk.register(subject="Slow reports", client="acme", priority=Priority.P3,
                            channel=Channel.EMAIL, requester="jo@acme.example",
                            actor="alice").reference
    clock.advance(timedelta(minutes=10) + ODD)
    helpdesk.set_priority(ref, Priority.P2, actor="alice", reason="more users")
    with SqlUnitOfWork(database) as uow:
        [mail] = OutboxStore(uow.session).items(kind="mail")
    body = message_from_bytes(mail.raw, policy=policy.default).get_content()  # type: ignore[attr-defined]
    assert "due Mon 23 Nov 2026 13:00 CET (3h50m of working time left)" in body, body


def test_the_slack_registration_answer_reads_to_the_minute(
        helpdesk: Helpdesk, clock: ManualClock) -> None:
    ref = helpdesk.register(subject="Export is slow", client="acme", priority=Priority.P2,
                            actor="alice").reference
    clock.advance(timedelta(minutes=2, seconds=29) + ODD)
    text = registered_text(helpdesk.show(ref))
    assert "We respond by Mon 23 Nov 13:00 CET (in 3h58m working time)." in text, text


def test_triage_lines_group_phone_numbers_and_show_instants_in_the_zone() -> None:
    e = Event(EventKind.PAGE_ATTEMPT, datetime(2026, 11, 23, 8, 0, tzinfo=UTC), "pager",
              {"number": "+3216000000", "due": "2026-11-23T09:00:00.123456+00:00"})
    line = event_line(e, BRU)
    assert line is not None
    assert "number: +32 16 00 00 00" in line and "due: Mon 23 Nov 2026 10:00 CET" in line, line


def test_reminders_list_shows_what_fires_next_in_the_policy_zone(
        database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        no_supportbot_env: None) -> None:
    config = tmp_path / "supportbot.toml"
    config.write_text(storage_toml(database) + CLIENTS, encoding="utf-8")
    registered = datetime.now(UTC) - timedelta(minutes=20)
    app = bootstrap(load_settings(config, env={}, cwd=tmp_path), clock=ManualClock(registered))
    try:  # 24/7 and UTC: a P4's hour to respond, reminded at 50%, 75%, 90%, breach, repeats
        night = app.helpdesk.register(subject="Question", client="nightowl",
                                      priority=Priority.P4, actor="t").reference
        day = app.helpdesk.register(subject="Checkout down", client="acme",
                                    priority=Priority.P1, actor="t", reason="t").reference
    finally:
        app.close()
    capsys.readouterr()
    assert main(["--config", str(config), "reminders", "list", "--ticket", night,
                 "--within", "30m"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Planned, next first"), out
    for minutes, label in ((30, "50%"), (45, "75%")):
        when = readable.when(registered + timedelta(minutes=minutes), UTC)
        assert any(line.startswith(f"  {when}  {night}/response/P4-{label}/0  reminder")
                   for line in out), out
    assert "  3 more later (--within to see further)" in out
    assert "Recorded, newest first:" in out and "  none yet" in out
    assert not any(f"{night}/response/P4-90%" in line for line in out)
    # another policy, another zone: Brussels
    assert main(["--config", str(config), "reminders", "list", "--ticket", day]) == 0
    planned = [line for line in capsys.readouterr().out.splitlines() if f"  {day}/" in line]
    assert planned and all(re.match(r"  \w{3} \d\d \w{3} \d{4} \d\d:\d\d CES?T  ", line)
                           for line in planned), planned


def test_tickets_show_reads_the_phone_desk_note_in_the_zone(helpdesk: Helpdesk) -> None:
    ref = helpdesk.register(subject="Checkout down", client="acme", priority=Priority.P1,
                            actor="alice", reason="production down").reference
    # the note the phone desk writes when a call confirms the follow-up
    v = helpdesk.confirm_phone_followup(
        ref, actor="phone:+3216123456",
        note="call CA1 from +3216123456 at 2026-11-23T08:04:31.5+00:00")
    text = ticket_text(v)
    assert "note=call CA1 from +32 16 12 34 56 at Mon 23 Nov 2026 09:05 CET" in text, text
