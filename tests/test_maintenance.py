"""Maintenance notices: announced by mail (through the outbox and a real relay) and on Slack (a
fake Slack Web API with the real SDK client), refused with less notice than the policy asks
unless it is a hotfix, and the clients told again when a window starts and when it ends."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.bootstrap import bootstrap
from adapters.maintenance import MaintenanceSweep
from adapters.slack.sender import SlackSender
from adapters.storage import Database, SqlUnitOfWork
from bot.clock import ManualClock
from bot.errors import InvalidAction
from bot.maintenance import earliest_start
from bot.sla import load_policy, parse_policy
from tests.mailbot import Bot
from tests.procs import run_main, storage_toml
from tests.slack_fake import serve_fake
from tests.test_slack import TRIAGE
from tests.test_slack import settings_for as slack_settings

BXL = ZoneInfo("Europe/Brussels")
PANENCO = load_policy("panenco")
NOW = datetime(2026, 11, 23, 9, tzinfo=BXL)  # Mon 23 Nov 2026 09:00


pytestmark = pytest.mark.usefixtures("no_supportbot_env")


def test_the_notice_is_plain_hours_or_working_days_of_the_policy_calendar() -> None:
    assert earliest_start(PANENCO, NOW) == NOW + timedelta(hours=72)
    assert earliest_start(load_policy("spinpanel"), NOW) is None  # it sets no minimum
    text = PANENCO.source and Path(PANENCO.source).read_text(encoding="utf-8")
    wd = parse_policy(text.replace('notice = "72h"', 'notice = "3wd"').encode(), "wd.toml")
    # Wed 23 Dec 2026: Thu 24 is a working day, Christmas (Fri 25) a Belgian holiday, then the
    # weekend: the third working day after the 23rd is Tue 29 Dec, closing at 18:00
    assert earliest_start(wd, datetime(2026, 12, 23, 15, tzinfo=BXL)) == \
        datetime(2026, 12, 29, 18, tzinfo=BXL)


def test_short_notice_is_refused_and_queues_nothing(bot: Bot) -> None:
    bot.clock.set(NOW)
    svc = bot.app.maintenance
    start = NOW + timedelta(hours=48)
    with pytest.raises(InvalidAction) as refused:
        svc.announce(start=start, end=start + timedelta(hours=2), summary="Database upgrade",
                     actor="cli:alice")
    msg = str(refused.value)
    assert "\n" not in msg
    assert "is 48h ahead" in msg and "must be told 72h ahead" in msg
    assert "not before Thu 26 Nov 2026 09:00 CET" in msg and "--hotfix" in msg
    assert svc.windows(include_ended=True) == [] and bot.deliver() == []


def test_a_window_is_announced_told_at_start_and_at_end_once_each(bot: Bot) -> None:
    bot.clock.set(NOW)
    svc = bot.app.maintenance
    start = datetime(2026, 11, 27, 17, tzinfo=BXL)  # Friday 17:00, 80 h ahead
    end = start + timedelta(hours=3)
    kw = dict(start=start, end=end, summary="Database upgrade to 17",
              release_notes="https://status.provider.example/notes/17", actor="cli:alice")
    told = svc.announce(**kw)  # type: ignore[arg-type]
    assert told.created and told.mailed == ("globex",) and told.unreachable == ("acme",)
    (mail,) = bot.deliver()
    assert mail["To"] == "cto@globex.example" and mail["Auto-Submitted"] == "auto-generated"
    assert mail["Subject"] == "Planned maintenance 27 Nov 2026 17:00 CET: Database upgrade to 17"
    body = mail.get_body(("plain",)).get_content()
    assert "from Fri 27 Nov 2026 17:00 CET until Fri 27 Nov 2026 20:00 CET" in body
    # 17:00-18:00 is inside the service window, 18:00-20:00 is not
    assert "by 1h of working time" in body and "hotfix" not in body
    again = svc.announce(**kw)  # type: ignore[arg-type]
    assert not again.created and again.window.key == told.window.key
    assert bot.deliver() == []  # a retry queues nothing

    assert svc.tell_due() == [] and bot.deliver() == []  # not started yet
    bot.clock.set(start)
    (started,) = svc.tell_due()
    assert started.phase == "started"
    (mail,) = bot.deliver()
    assert str(mail["Subject"]).strip().startswith("Maintenance started")
    assert svc.tell_due() == [] and bot.deliver() == []
    assert [w.state_at(start) for w in svc.windows()] == ["in progress"]

    bot.clock.set(end + timedelta(minutes=1))
    sweep = MaintenanceSweep(bot.app.maintenance, after=lambda: woken.append(1))
    woken: list[int] = []
    assert sweep() == 1 and woken == [1]
    (mail,) = bot.deliver()
    assert str(mail["Subject"]).strip().startswith("Maintenance ended")
    assert "Release notes: https://status.provider.example/notes/17" in \
        mail.get_body(("plain",)).get_content()
    assert sweep() == 0 and bot.deliver() == [] and woken == [1]
    assert svc.windows() == []
    assert [w.key for w in svc.windows(include_ended=True)] == [told.window.key]


def test_a_hotfix_may_come_at_short_notice_and_says_so(bot: Bot) -> None:
    bot.clock.set(NOW)
    svc = bot.app.maintenance
    start = NOW + timedelta(hours=2)
    told = svc.announce(start=start, end=start + timedelta(minutes=30), clients=["globex"],
                        summary="Fix for T-1001", hotfix=True, actor="cli:alice")
    assert told.window.clients == ("globex",)
    (mail,) = bot.deliver()
    assert mail["Subject"] == "Hotfix 23 Nov 2026 11:00 CET: Fix for T-1001"
    assert "announced with less than the 72h notice agreed" in \
        mail.get_body(("plain",)).get_content()

    # the bot was down for the whole window: only the end is told
    bot.clock.set(start + timedelta(hours=5))
    (t,) = svc.tell_due()
    assert t.phase == "ended"
    (mail,) = bot.deliver()
    assert str(mail["Subject"]).strip().startswith("Hotfix ended")
    assert svc.tell_due() == []


async def test_maintenance_is_posted_in_the_clients_triage_channel(
        database: Database, clock: ManualClock) -> None:
    fake, server = serve_fake()
    app = bootstrap(slack_settings(database, fake), clock=clock, upgrade=False)
    try:
        sender = SlackSender(app.uow, clock, AsyncWebClient(token="xoxb-test",
                                                           base_url=fake.base_url), app.helpdesk)
        start = clock.now() + timedelta(days=4)
        told = app.maintenance.announce(start=start, end=start + timedelta(hours=1),
                                         summary="Network change", actor="t")
        assert told.posted == ("acme",) and told.mailed == ()
        assert await sender.send_due() == 1
        (post,) = fake.called("chat.postMessage")
        assert post.params["channel"] == TRIAGE and "thread_ts" not in post.params
        assert "Planned maintenance" in post.params["text"]
        assert "Network change" in post.params["text"]
        app.maintenance.announce(start=start, end=start + timedelta(hours=1),
                                  summary="Network change", actor="t")
        clock.set(start)
        app.maintenance.tell_due()
        app.maintenance.tell_due()
        assert await sender.send_due() == 1  # the start, once; the retry added nothing
        assert "started" in fake.called("chat.postMessage")[-1].params["text"]
        with SqlUnitOfWork(app.db, write=False) as uow:
            assert len(uow.slack.jobs()) == 2
    finally:
        server.shutdown()
        app.close()


def _config(tmp_path: Path, database: Database) -> Path:
    text = storage_toml(database)
    text += ('[[clients]]\nname = "acme"\npolicy = "panenco"\nemails = ["ops@acme.example"]\n'
             '[[clients]]\nname = "spin"\npolicy = "spinpanel"\nemails = ["it@spin.example"]\n')
    path = tmp_path / "supportbot.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_cli_refuses_short_notice_in_one_line_and_lists_windows(
        database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, database)
    soon = (datetime.now(UTC) + timedelta(hours=5)).replace(microsecond=0)
    window = ("--start", soon.isoformat(), "--end", (soon + timedelta(hours=1)).isoformat())
    code, out, err = run_main(capsys, config, "maintenance", "announce", *window,
                              "--summary", "x")
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1
    assert "client acme (policy panenco) must be told 72h ahead" in err
    assert "Traceback" not in err
    # spinpanel alone asks no notice: the same window for that client is fine
    code, out, err = run_main(capsys, config, "maintenance", "announce", *window,
                              "--summary", "x", "--client", "spin")
    assert code == 0 and "told spin by mail" in out, err
    year = datetime.now(UTC).year + 2
    code, out, err = run_main(capsys, config, "maintenance", "announce", "--start",
                         f"{year}-03-02T20:00", "--end", f"{year}-03-02T22:00",
                         "--summary", "Platform upgrade", "--release-notes",
                         "https://example.test/rn")
    assert code == 0 and "told acme, spin by mail" in out, err
    # what people read is in the default policy's zone, to the minute
    assert f"02 Mar {year} 20:00 CET - " in out and f"02 Mar {year} 22:00 CET" in out, out
    code, out, _ = run_main(capsys, config, "maintenance", "list")
    assert f"02 Mar {year} 20:00 CET - " in out.splitlines()[1], out
    code, out, _ = run_main(capsys, config, "maintenance", "list", "--json")
    listed = json.loads(out)
    assert [w["clients"] for w in listed] == [["spin"], ["acme", "spin"]]
    assert listed[1]["start"] == f"{year}-03-02T19:00:00+00:00"  # Brussels, CET
    assert listed[1]["state"] == "scheduled"
    code, _, err = run_main(capsys, config, "maintenance", "announce", "--start", "tomorrow",
                       "--end", "later", "--summary", "x")
    assert code == 2 and "--start" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_main(capsys, config, "maintenance", "announce", "--start",
                       f"{year}-03-02T20:00", "--end", f"{year}-03-02T19:00", "--summary", "x")
    assert code == 1 and "must end after it starts" in err
