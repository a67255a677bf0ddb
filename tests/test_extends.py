"""``extends`` and a client's own closed days and windows: a policy that takes its provider's
contract and changes only what it says (tests/policies/acme.toml extends the built-in panenco:
Mon-Fri 09:00-18:00 Brussels, Belgian holidays), and ``sla explain`` saying where each value
came from."""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from adapters.cli import main
from bot.errors import PolicyError
from bot.priority import Priority
from bot.sla.extends import origin
from bot.sla.loader import builtin_policy_dir, load_policy

POLICIES = Path(__file__).parent / "policies"
ACME = POLICIES / "acme.toml"
PANENCO = str(builtin_policy_dir() / "panenco.toml")


def test_the_child_changes_only_what_it_says_and_adds_its_closed_days() -> None:
    p, base = load_policy(ACME), load_policy("panenco")
    assert (p.name, p.title) == ("acme", "Panenco support for ACME")
    assert p.target(Priority.P1, "response") == timedelta(hours=1)
    assert p.target(Priority.P1, "resolution") == base.target(Priority.P1, "resolution")
    assert p.clocks["response"].start == base.clocks["response"].start
    assert p.credits == base.credits and p.deadlines == base.deadlines
    assert p.calendar.closed.country == "BE"
    assert p.calendar.closed_reason(date(2026, 12, 24)) == "ACME closing day"
    assert p.calendar.closed_reason(date(2026, 12, 25)) == "Christmas Day"
    assert p.chain == (PANENCO, str(ACME)) and p.version != base.version
    o = p.origins
    assert origin(p, "clocks.response.targets") == o["clocks.response.targets.P1"] == str(ACME)
    assert o["clocks.response.start"] == o["calendar.windows.weekdays"] == PANENCO
    assert o["calendar.closed:2026-12-24"] == o["calendar.closed:2026-12-23"] == str(ACME)


def test_a_closed_window_closes_part_of_a_day_and_a_closed_day_all_of_it() -> None:
    p = load_policy(ACME)
    start = datetime(2026, 12, 23, 11, 0, tzinfo=UTC)  # Wed 23 Dec 12:00 CET
    # Wed 12:00-13:00 (1h), the party from 13:00, ACME's Thursday, Christmas (Fri), the
    # weekend, then 3h on Monday: due Mon 28 Dec 12:00 CET
    due = p.deadline(Priority.P2, "response", start)
    assert due == datetime(2026, 12, 28, 11, 0, tzinfo=UTC)
    base = load_policy("panenco").deadline(Priority.P2, "response", start)
    assert base == datetime(2026, 12, 23, 15, 0, tzinfo=UTC)  # panenco alone: Wed 16:00
    text = str(p.calendar.explain(start, timedelta(hours=4)))
    assert text == ("counted 12:00–13:00 Wed 23 Dec, skipped 13:00–18:00 Wed 23 Dec (ACME "
                    "year-end party), skipped ACME closing day (holiday), skipped Christmas "
                    "Day (holiday), weekend, counted 09:00–12:00 Mon 28 Dec")
    assert p.calendar.is_working_day(date(2026, 12, 23))  # partly closed is still a working day


def test_sla_explain_shows_where_each_value_came_from(capsys: pytest.CaptureFixture[str],
                                                      tmp_path: Path) -> None:
    empty = tmp_path / "empty.toml"
    empty.write_text("", encoding="utf-8")
    code = main(["--config", str(empty), "sla", "explain", "--policy", str(ACME), "--priority",
                 "P2", "--start", "2026-12-23T12:00"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[-8].startswith("due   Mon 28 Dec 2026 12:00 CET")
    assert out[-7:] == [
        f"from: {PANENCO} <- {ACME}",
        f"  target (response): {ACME}",
        f"  time zone: {PANENCO}",
        f"  windows: {PANENCO}",
        f"  closed 2026-12-23 (ACME year-end party): {ACME}",
        f"  closed 2026-12-24 (ACME closing day): {ACME}",
        f"  closed 2026-12-25 (Christmas Day): {PANENCO}",
    ]


def test_mistakes_name_the_file_and_the_key(tmp_path: Path) -> None:
    loop = tmp_path / "loop.toml"
    loop.write_text('extends = "loop"\n[policy]\nname = "loop"\ntitle = "x"\n')
    with pytest.raises(PolicyError, match=r"loop\.toml.*extends.*itself"):
        load_policy(loop)
    nameless = tmp_path / "nameless.toml"
    nameless.write_text('extends = "panenco"\n[clocks.response]\n'
                        'targets = { P1 = "1h", P2 = "4h", P3 = "6h", P4 = "8h" }\n')
    with pytest.raises(PolicyError, match=r"nameless\.toml.*policy\.name.*of its own"):
        load_policy(nameless)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('extends = "nosuch"\n[policy]\nname = "unknown"\ntitle = "x"\n')
    with pytest.raises(PolicyError, match=r"nosuch.*no such policy"):
        load_policy(unknown)
    late = tmp_path / "late.toml"
    late.write_text('[policy]\nname = "late"\ntitle = "x"\nextends = "panenco"\n')
    with pytest.raises(PolicyError, match=r"late\.toml.*policy\.extends.*top of the file"):
        load_policy(late)
    broken = tmp_path / "broken.toml"
    broken.write_text('extends = "panenco"\n[policy]\nname = "broken"\ntitle = "x"\n'
                      '[[calendar.closed]]\ndate = 2026-12-24\nwindow = "18:00-13:00"\n')
    with pytest.raises(PolicyError, match=r"broken\.toml.*calendar\.closed.*window"):
        load_policy(broken)


def test_an_edit_of_the_parent_is_seen_by_the_child(tmp_path: Path) -> None:
    parent = tmp_path / "parent.toml"
    parent.write_text(Path(PANENCO).read_text().replace('name = "panenco"', 'name = "parent"'))
    child = tmp_path / "child.toml"
    child.write_text('extends = "parent"\n[policy]\nname = "child"\ntitle = "Child"\n')
    assert load_policy(child).target(Priority.P1, "response") == timedelta(hours=2)
    time.sleep(0.01)
    parent.write_text(parent.read_text().replace('P1 = "2h", P2 = "4h"', 'P1 = "3h", P2 = "4h"'))
    os.utime(child)  # only the parent changed in content; the child is looked at as usual
    assert load_policy(child).target(Priority.P1, "response") == timedelta(hours=3)
