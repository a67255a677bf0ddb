"""Reports from stored tickets: the period's tickets load in bulk, and ``supportbot report``
prints the report of what the real services recorded, the same bytes every time."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from adapters.storage import Database, SqlUnitOfWork
from bot.clock import ManualClock
from bot.priority import Priority
from bot.reports import Period, compute_report, render
from bot.services import Helpdesk
from bot.sla import load_policy
from bot.ticket import Ticket
from tests.procs import run_main, storage_toml

SPRINT = "2024-11-25/2024-12-08"  # long past, whatever the machine's date
PANENCO = load_policy("panenco")


pytestmark = pytest.mark.usefixtures("no_supportbot_env")


def seed(hd: Helpdesk, clock: ManualClock) -> dict[str, str]:
    """A small history around the sprint of Mon 25 Nov - Sun 8 Dec 2024."""
    refs: dict[str, str] = {}
    clock.set(datetime(2024, 11, 4, 9, tzinfo=UTC))  # an earlier sprint, closed before ours
    refs["old_closed"] = hd.register(subject="old", client="acme", priority=Priority.P3,
                                     actor="t").reference
    hd.respond(refs["old_closed"], actor="t")
    hd.close(refs["old_closed"], actor="t")
    refs["old_open"] = hd.register(subject="old, still open", client="acme",
                                   priority=Priority.P4, actor="t").reference
    clock.set(datetime(2024, 11, 25, 8, tzinfo=UTC))
    for name in ("p1_late_a", "p1_late_b"):  # two P1 resolution breaches: one credit
        refs[name] = ref = hd.register(subject=name, client="acme", priority=Priority.P1,
                                       actor="t").reference
        hd.respond(ref, actor="t")
        hd.confirm_cause(ref, actor="t")
        hd.log_time(ref, 2.5, actor="t")
        clock.advance(timedelta(days=2))
        hd.resolve(ref, actor="t")
    refs["p2_ok"] = hd.register(subject="fine", client="acme", priority=Priority.P2,
                                actor="t").reference
    hd.respond(refs["p2_ok"], actor="t")
    refs["nightowl"] = hd.register(subject="other client", client="nightowl",
                                   actor="t").reference
    clock.set(datetime(2024, 12, 12, 9, tzinfo=UTC))  # after the sprint
    refs["later"] = hd.register(subject="later", client="acme", actor="t").reference
    return refs


def test_a_period_loads_its_tickets_and_no_others(database: Database, helpdesk: Helpdesk,
                                                  clock: ManualClock) -> None:
    refs = seed(helpdesk, clock)
    tz = PANENCO.calendar.tz
    period = Period(date(2024, 11, 25), date(2024, 12, 9))
    with SqlUnitOfWork(database, write=False) as uow:
        acme = uow.clients.get("acme")
        assert acme is not None and acme.id is not None
        got = uow.reports.period_tickets(acme.id, period.start_at(tz), period.end_at(tz))
    assert sorted(t.reference for t in got) == sorted(
        refs[k] for k in ("old_open", "p1_late_a", "p1_late_b", "p2_ok"))
    loaded = {t.reference: t for t in got}
    assert [e.kind for e in loaded[refs["p1_late_a"]].events][:2] == ["registered",
                                                                       "priority_set"]
    r = compute_report(PANENCO, acme, period, got, datetime(2027, 1, 1, tzinfo=UTC))
    assert [c.amount for c in r.credits] == [PANENCO.credits[0].share * 12_000]
    # the old P4 is open but was late in an earlier sprint (counted there): not carried; the P2
    # is open and not late (its resolution clock has not started)
    assert r.carried == (refs["p2_ok"],)
    assert r.priorities[0].hours == 5


def _config(tmp_path: Path, database: Database) -> Path:
    text = storage_toml(database)
    text += ('[[clients]]\nname = "acme"\npolicy = "panenco"\nemail_domains = ["acme.example"]\n'
             'invoice_amount = 12000.0\n'
             '[[clients]]\nname = "nightowl"\npolicy = "demo247"\n')
    path = tmp_path / "supportbot.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_report_command_prints_the_same_bytes_each_time(
        database: Database, helpdesk: Helpdesk, clock: ManualClock, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    refs = seed(helpdesk, clock)
    config = _config(tmp_path, database)
    code, out, err = run_main(capsys, config, "report", "--client", "acme", "--period", SPRINT,
                         "--format", "json")
    assert (code, err) == (0, ""), err
    doc = json.loads(out)
    assert doc["policy"]["version"] == PANENCO.version
    assert doc["credit_total"] == "3000.00"
    assert doc["credits"][0]["charged"] == [refs["p1_late_b"]]
    assert {t["ticket"] for t in doc["tickets"]} >= {refs["p1_late_a"], refs["p2_ok"]}
    assert refs["nightowl"] not in out and refs["later"] not in out
    for fmt in ("md", "html", "csv", "json"):
        a = run_main(capsys, config, "report", "--client", "acme", "--period", SPRINT,
                "--format", fmt)
        b = run_main(capsys, config, "report", "--client", "acme", "--period", SPRINT,
                "--format", fmt)
        assert a == b and a[0] == 0 and a[1], fmt
    target = tmp_path / "out" / "r.html"
    target.parent.mkdir()
    code, out, _ = run_main(capsys, config, "report", "--client", "acme", "--period", SPRINT,
                       "--format", "html", "-o", str(target))
    assert code == 0 and target.read_text(encoding="utf-8") == render(
        compute_report(PANENCO, helpdesk.client("acme"), Period(
            date(2024, 11, 25), date(2024, 12, 9)),
            _tickets(database), datetime.now(UTC)), "html")


def _tickets(database: Database) -> list[Ticket]:
    with SqlUnitOfWork(database, write=False) as uow:
        return uow.tickets.list(client="acme", limit=1000)


def test_report_mistakes_are_one_line(database: Database, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, database)
    code, _, err = run_main(capsys, config, "report", "--client", "nobody")
    assert code == 1 and err.strip() == "supportbot: error: no client named 'nobody'"
    code, _, err = run_main(capsys, config, "report", "--client", "acme", "--period", "lastweek")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--period" in err
    assert "Traceback" not in err
