"""Availability in reports: the SpinPanel contract promises 99.9%. Down time is computed from P1
tickets (registration to resolution, or as corrected by staff), announced maintenance of the
client is left out; the tests compute the expected figures independently from the seeded
instants."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from adapters.cli import main
from adapters.storage import Database, SqlUnitOfWork
from bot.clock import ManualClock
from bot.errors import InvalidAction
from bot.maintenance import Maintenance
from bot.model import Client
from bot.priority import Priority
from bot.reports import render
from bot.reports.service import Reporting
from bot.services import Helpdesk

AMS = ZoneInfo("Europe/Amsterdam")
YEAR = "2025-01-01/2025-12-31"
SPIN = Client(name="spin", policy="spinpanel", emails=("it@spin.example",))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


pytestmark = pytest.mark.usefixtures("no_supportbot_env")


def p1(hd: Helpdesk, clock: ManualClock, down: datetime, up: datetime | None,
       priority: Priority = Priority.P1) -> str:
    clock.set(down)
    ref = hd.register(subject=f"down {down:%m-%d}", client="spin", priority=priority,
                      actor="t").reference
    if up is not None:
        clock.set(up)
        hd.resolve(ref, actor="t")
    return ref


def seed(database: Database, hd: Helpdesk, clock: ManualClock) -> dict[str, str]:
    hd.sync_directory([SPIN])
    maint = Maintenance(lambda: SqlUnitOfWork(database), clock, hd.policies,
                        "support@provider.example")
    clock.set(utc(2025, 1, 2))
    maint.announce(start=utc(2025, 6, 10, 8, 30), end=utc(2025, 6, 10, 9), summary="db",
                   clients=["spin"], actor="t")
    maint.announce(start=utc(2025, 11, 1, 2), end=utc(2025, 11, 1, 6), summary="network",
                   clients=["spin"], actor="t")
    # another client's maintenance changes nothing for spin
    maint.announce(start=utc(2025, 3, 3, 10), end=utc(2025, 3, 3, 12), summary="acme only",
                   clients=["acme"], actor="t")
    refs = {
        # starts in the previous year: only the hour after midnight (Amsterdam) counts
        "straddle": p1(hd, clock, datetime(2024, 12, 31, 23, tzinfo=AMS),
                       datetime(2025, 1, 1, 1, tzinfo=AMS)),
        "plain": p1(hd, clock, utc(2025, 3, 3, 10), utc(2025, 3, 3, 14)),
        "maint": p1(hd, clock, utc(2025, 6, 10, 8), utc(2025, 6, 10, 9, 30)),
        "corrected": p1(hd, clock, utc(2025, 9, 1, 12), utc(2025, 9, 1, 13)),
        "no_outage": p1(hd, clock, utc(2025, 9, 2, 12), utc(2025, 9, 2, 18)),
        "p2": p1(hd, clock, utc(2025, 9, 3, 12), utc(2025, 9, 3, 18), Priority.P2),
        "open": p1(hd, clock, utc(2025, 12, 20, 9), None),  # still down at the year's end
    }
    clock.set(utc(2025, 9, 4))
    hd.correct_outage(refs["corrected"], start=utc(2025, 9, 1, 11), end=utc(2025, 9, 1, 11, 20),
                      reason="monitoring shows 20 minutes", actor="alice")
    hd.correct_outage(refs["no_outage"], start=None, end=None, none=True,
                      reason="one user's browser", actor="alice")
    return refs


def test_availability_leaves_out_maintenance_and_follows_corrections(
        database: Database, helpdesk: Helpdesk, clock: ManualClock) -> None:
    refs = seed(database, helpdesk, clock)
    start, end = datetime(2025, 1, 1, tzinfo=AMS), datetime(2026, 1, 1, tzinfo=AMS)
    maintenance = timedelta(minutes=30) + timedelta(hours=4)
    down = (timedelta(hours=1)                      # straddle: 00:00-01:00 Amsterdam
            + timedelta(hours=4)                    # plain
            + timedelta(hours=1)                    # maint: 08:00-09:30 less 08:30-09:00
            + timedelta(minutes=20)                 # corrected
            + (end - utc(2025, 12, 20, 9)))         # open until the period's end
    measured = end - start - maintenance
    share = 1 - down / measured

    clock.set(utc(2026, 2, 1))
    report = Reporting(lambda: SqlUnitOfWork(database, write=False), clock,
                       helpdesk.policies).report("spin", YEAR)
    a = report.availability
    assert a is not None
    assert (a.down, a.measured, a.maintenance) == (down, measured, maintenance)
    assert a.share == pytest.approx(share) and not a.meets_target and a.target == 0.999
    assert [o.reference for o in a.outages] == [refs[k] for k in (
        "straddle", "plain", "maint", "corrected", "open")]
    doc = json.loads(render(report, "json"))["availability"]
    assert doc["share"] == f"{share * 100:.3f}%" and doc["target"] == "99.900%"
    assert doc["down_seconds"] == int(down.total_seconds()) and doc["target_met"] is False
    md = render(report, "md")
    assert f"Availability: {share * 100:.3f}% against a target of 99.900% (NOT met)" in md
    assert "(corrected by staff)" in md and "<h2>Availability</h2>" in render(report, "html")

    # the open outage corrected to an hour: now the target is met
    helpdesk.correct_outage(refs["open"], start=utc(2025, 12, 20, 9),
                            end=utc(2025, 12, 20, 10), reason="restored by failover",
                            actor="alice")
    a = Reporting(lambda: SqlUnitOfWork(database, write=False), clock,
                  helpdesk.policies).report("spin", YEAR).availability
    fixed = down - (end - utc(2025, 12, 20, 9)) + timedelta(hours=1)
    assert a is not None and a.down == fixed and a.meets_target
    assert a.share == pytest.approx(1 - fixed / measured)


def test_a_policy_without_a_target_reports_no_availability(helpdesk: Helpdesk,
                                                            clock: ManualClock) -> None:
    ref = helpdesk.register(subject="down", client="acme", priority=Priority.P1,
                            actor="t").reference
    clock.advance(timedelta(hours=1))
    helpdesk.resolve(ref, actor="t")
    r = Reporting(helpdesk._uow, clock, helpdesk.policies).report("acme", "current")  # type: ignore[arg-type]
    assert r.availability is None and "availability" not in json.loads(render(r, "json"))
    assert "Availability" not in render(r, "md")


def test_outage_corrections_are_checked() -> None:
    from bot.availability import correction_data

    with pytest.raises(InvalidAction, match="must end after it starts"):
        correction_data(utc(2025, 1, 1, 2), utc(2025, 1, 1, 1), none=False, reason="x")
    with pytest.raises(InvalidAction, match="needs its start and end"):
        correction_data(utc(2025, 1, 1, 2), None, none=False, reason="x")
    with pytest.raises(InvalidAction, match="needs a reason"):
        correction_data(None, None, none=True, reason=" ")


def test_the_cli_corrects_an_outage_as_an_event(database: Database, helpdesk: Helpdesk,
                                                clock: ManualClock, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    helpdesk.sync_directory([SPIN])
    ref = p1(helpdesk, clock, utc(2025, 5, 5, 10), utc(2025, 5, 5, 16))
    url = database.url.render_as_string(hide_password=False)
    config = tmp_path / "supportbot.toml"
    config.write_text(f"[storage]\nurl = {json.dumps(url)}\n" + (
        f"schema = {json.dumps(database.schema)}\n" if database.schema else "") +
        '[[clients]]\nname = "spin"\npolicy = "spinpanel"\n', encoding="utf-8")

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--config", str(config), *args])
        out, err = capsys.readouterr()
        return code, out, err

    code, _, err = run("tickets", "outage", ref, "--start", "2025-05-05T12:00", "--reason", "x")
    assert code == 1 and err.strip() == (
        "supportbot: error: an outage correction needs its start and end (or none)")
    code, out, err = run("tickets", "outage", ref, "--start", "2025-05-05T12:00",
                         "--end", "2025-05-05T12:45", "--reason", "from monitoring", "--json")
    assert code == 0, err
    (event,) = [e for e in json.loads(out)["events"] if e["kind"] == "outage_corrected"]
    # no offset: the default policy's zone (Brussels, CEST in May)
    assert event["data"]["start"] == "2025-05-05T12:00:00+02:00"
    code, out, err = run("report", "--client", "spin", "--period", YEAR, "--format", "json")
    assert code == 0, err
    assert json.loads(out)["availability"]["down_seconds"] == 45 * 60
