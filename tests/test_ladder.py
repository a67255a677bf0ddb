"""The escalation ladder in the policy format: who each reminder threshold tells, per clock and
priority, and the mistakes it refuses (tests/policies/ladder.toml)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.alerts import Alert, direct_people
from bot.errors import PolicyError
from bot.model import Staff
from bot.priority import Priority
from bot.sla.loader import load_policy, parse_policy

LADDER = Path(__file__).parent / "policies" / "ladder.toml"
POLICY = load_policy(LADDER)


def test_each_threshold_names_who_is_told_and_a_rule_adds_on_call_for_p1() -> None:
    p2 = POLICY.reminder_rule("response", Priority.P2)
    assert [p2.targets_at(x, Priority.P2) for x in ("50%", "80%", "breach")] == [
        ("assignee",), ("triage",), ("manager",)]
    p1 = POLICY.reminder_rule("response", Priority.P1)
    assert p1.targets_at("50%", Priority.P1) == ("assignee",)  # the rule changes breach only
    assert p1.targets_at("breach", Priority.P1) == ("manager", "oncall")


def test_a_threshold_the_ladder_does_not_name_tells_the_default_recipients() -> None:
    text = LADDER.read_text().replace('"80%" = ["triage"], ', "")
    p = parse_policy(text.encode(), "partial.toml")
    assert p.reminder_rule("response", Priority.P2).targets_at("80%", Priority.P2) == (
        "triage", "assignee")
    assert p.reminder_rule("response", Priority.P1).targets_at("80%", Priority.P1) == (
        "triage", "assignee", "oncall")


def test_ladder_mistakes_name_the_file_the_key_and_what_is_expected() -> None:
    text = LADDER.read_text()
    with pytest.raises(PolicyError, match=r"bad\.toml.*reminders\.ladder.*'75%'.*50%, 80%, "
                                          r"breach"):
        parse_policy(text.replace('"80%" = ["triage"]', '"75%" = ["triage"]').encode(),
                     "bad.toml")
    with pytest.raises(PolicyError, match=r"bad\.toml.*reminders\.ladder.*boss"):
        parse_policy(text.replace('breach = ["manager"] }', 'breach = ["boss"] }', 1).encode(),
                     "bad.toml")
    with pytest.raises(PolicyError, match=r"reminders\.rules.*'90%'"):
        parse_policy(text.replace('ladder = { breach = ["manager", "oncall"] }',
                                  'ladder = { "90%" = ["oncall"] }').encode(), "bad.toml")


def test_direct_people_tells_each_person_once() -> None:
    staff = [Staff("alice", "alice@p.example", "UALICE"),
             Staff("mona", "mona@p.example", "UMONA", role="manager"),
             Staff("max", "max@p.example", role="manager")]

    def alert(*targets: str, assignee: str | None = "alice") -> Alert:
        return Alert("k", 1, "T-1001", "acme", Priority.P2, "reminder", "text",
                     datetime(2026, 1, 1, tzinfo=UTC), targets=targets, assignee=assignee)

    assert [s.name for s in direct_people(alert("assignee"), staff)] == ["alice"]
    # told in the triage thread (mentioned): no direct message on top
    assert direct_people(alert("triage", "assignee"), staff) == []
    assert [s.name for s in direct_people(alert("manager"), staff)] == ["mona", "max"]
    # the assignee who is a manager too: once
    both = direct_people(alert("assignee", "manager", assignee="mona"), staff)
    assert [s.name for s in both] == ["mona", "max"]
    assert direct_people(alert("assignee", assignee=None), staff) == []
