"""Report approval, end to end with real mail: the report goes to the client's contacts through
the outbox and a real relay, a contact's ACCEPT / CHALLENGE reply comes back through the SMTP
intake, and without an answer the report is accepted automatically after the tenth working
day of the policy's calendar."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.errors import InvalidAction
from bot.reports.approval import keyword
from tests.mailbot import Bot, reply_to

BXL = ZoneInfo("Europe/Brussels")
SENT = datetime(2026, 12, 24, 10, tzinfo=BXL)  # Thu 24 Dec 2026, Christmas Eve
# ten working days after Thu 24 Dec, not counting that day: Christmas (Fri 25 Dec) and New Year
# (Fri 1 Jan) are Belgian holidays, weekends are closed
TEN_WORKING_DAYS = [date(2026, 12, d) for d in (28, 29, 30, 31)] + \
    [date(2027, 1, d) for d in (4, 5, 6, 7, 8, 11)]
AUTO_ACCEPT = datetime(2027, 1, 11, 18, tzinfo=BXL)  # close of the tenth


@pytest.mark.parametrize("text, decision", [
    ("ACCEPT", "accepted"), ("Accepted, thanks!", "accepted"), ("\n  akkoord\n", "accepted"),
    ("Challenge: T-1002 was caused by our proxy", "challenged"),
    ("Contesté", "challenged"), ("Betwist", "challenged"),
    ("We accept", None), ("Thanks, looks fine", None), ("", None),
])
def test_reply_keywords(text: str, decision: str | None) -> None:
    assert keyword(text) == decision


def _send(bot: Bot) -> int:
    bot.clock.set(SENT)
    app = bot.app
    bot.app.helpdesk.register(subject="Checkout down", client="globex", actor="t")
    r = app.reporting.report("globex", "current")
    sent = app.approvals.send(r, app.helpdesk.client("globex"))
    assert sent.id is not None
    return sent.id


def test_a_contact_challenges_a_report_by_replying(bot: Bot) -> None:
    report_id = _send(bot)
    again = bot.app.approvals.send(bot.app.reporting.report("globex", "current"),
                                    bot.app.helpdesk.client("globex"))
    assert again.id == report_id  # the same report twice: one record, one mail
    (mail,) = bot.deliver()
    assert mail["To"] == "cto@globex.example"
    assert mail["Subject"] == "SLA report globex 2026-12-21/2027-01-03 for approval"
    assert mail["Auto-Submitted"] == "auto-generated"
    body = mail.get_body(("plain",)).get_content()
    assert "CHALLENGE" in body and "Mon 11 Jan 2027 18:00 CET" in body
    (page,) = list(mail.iter_attachments())
    assert page.get_content_type() == "text/html" and "<svg" in page.get_content()

    tickets_before = len(bot.app.helpdesk.list(client="globex"))
    bot.clock.set(datetime(2026, 12, 29, 9, tzinfo=BXL))
    outcome, answers = bot.roundtrip(reply_to(mail, "cto@globex.example",
                                              "Challenge\nT-1001 was our proxy, not you.\n"))
    assert (outcome.state, outcome.action) == (
        "done", f"report {report_id} challenged by cto@globex.example")
    assert answers == []  # no acknowledgement, no ticket
    assert len(bot.app.helpdesk.list(client="globex")) == tickets_before
    ((sent, state, _),) = bot.app.approvals.list("globex")
    assert (state, sent.decided_by) == ("challenged", "cto@globex.example")
    assert "proxy" in sent.note

    # another contact's reply without a keyword becomes an ordinary follow-up mail
    outcome, _ = bot.roundtrip(reply_to(mail, "cto@globex.example", "Who wrote this?"))
    assert "without ACCEPT or CHALLENGE" in outcome.action


def test_without_an_answer_a_report_is_accepted_after_the_tenth_working_day(bot: Bot) -> None:
    assert all(d.weekday() < 5 for d in TEN_WORKING_DAYS) and len(TEN_WORKING_DAYS) == 10
    report_id = _send(bot)
    (mail,) = bot.deliver()
    ((sent, state, _),) = bot.app.approvals.list()
    assert sent.due_at == AUTO_ACCEPT and state == "sent"

    bot.clock.set(AUTO_ACCEPT - timedelta(seconds=1))
    assert bot.app.approvals.list()[0][1] == "sent"
    bot.clock.set(AUTO_ACCEPT)
    assert bot.app.approvals.list()[0][1] == "sent"  # due at the close: still answerable
    bot.clock.set(AUTO_ACCEPT + timedelta(seconds=1))
    assert bot.app.approvals.list()[0][1] == "accepted automatically"
    with pytest.raises(InvalidAction, match=f"report {report_id} is already accepted "
                                            "automatically"):
        bot.app.approvals.decide(report_id, "challenged", actor="cli:staff")
    outcome, answers = bot.roundtrip(reply_to(mail, "cto@globex.example", "CHALLENGE"))
    assert "already accepted automatically" in outcome.action and answers == []
    # a different report for the same period is refused once this one stands
    bot.app.helpdesk.register(subject="More", client="globex", actor="t")
    with pytest.raises(InvalidAction, match="was sent already"):
        bot.app.approvals.send(bot.app.reporting.report("globex", "2026-12-21/2027-01-03"),
                                bot.app.helpdesk.client("globex"))


def test_staff_record_an_acceptance(bot: Bot) -> None:
    report_id = _send(bot)
    s = bot.app.approvals.decide(report_id, "accepted", actor="cli:alice", note="by phone")
    assert (s.state, s.decided_by, s.note) == ("accepted", "cli:alice", "by phone")
    with pytest.raises(InvalidAction, match="already accepted"):
        bot.app.approvals.decide(report_id, "challenged", actor="cli:alice")
