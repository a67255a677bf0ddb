"""The start and end notices of a maintenance window: each names its own instant, reads as a
sentence, says so when it comes late (the bot was down at that instant), and goes out at its
instant rather than at the next periodic sweep."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from adapters.maintenance import MaintenanceSweep
from adapters.system_clock import SystemClock
from bot.maintenance import Maintenance
from bot.maintenance_window import MaintenanceWindow
from tests.mailbot import SUPPORT, Bot

BXL = ZoneInfo("Europe/Brussels")
NOW = datetime(2026, 11, 23, 9, tzinfo=BXL)  # Mon 23 Nov 2026 09:00
START = datetime(2026, 11, 27, 17, tzinfo=BXL)  # Friday 17:00, 80 h ahead
END = START + timedelta(hours=3)
SPAN = "from Fri 27 Nov 2026 17:00 CET until Fri 27 Nov 2026 20:00 CET"


def announce(bot: Bot) -> None:
    bot.clock.set(NOW)
    bot.app.maintenance.announce(start=START, end=END, summary="Database upgrade to 17",
                                 clients=["globex"], actor="cli:alice")
    bot.deliver()


def subject(mail) -> str:  # type: ignore[no-untyped-def]
    return " ".join(str(mail["Subject"]).split())  # unfolded


def body(mail) -> str:  # type: ignore[no-untyped-def]
    return str(mail.get_body(("plain",)).get_content())


def test_start_and_end_notices_name_their_own_instant_and_read_as_sentences(bot: Bot) -> None:
    announce(bot)
    svc = bot.app.maintenance
    bot.clock.set(START)
    (started,) = svc.tell_due()
    assert not started.late
    (mail,) = bot.deliver()
    assert subject(mail) == "Maintenance started 27 Nov 2026 17:00 CET: Database upgrade to 17"
    assert f"The maintenance announced {SPAN} has started." in body(mail)
    assert "late" not in body(mail).lower()

    bot.clock.set(END + timedelta(seconds=30))
    (ended,) = svc.tell_due()
    assert not ended.late
    (mail,) = bot.deliver()
    assert subject(mail) == "Maintenance ended 27 Nov 2026 20:00 CET: Database upgrade to 17"
    text = body(mail)
    assert f"The maintenance {SPAN} has ended." in text
    assert "of from" not in text and "for from" not in text
    assert "late" not in text.lower()


def test_a_start_missed_while_the_bot_was_down_is_told_late_and_says_so(bot: Bot) -> None:
    announce(bot)
    svc = bot.app.maintenance
    bot.clock.set(START + timedelta(minutes=40))  # back up during the window
    (started,) = svc.tell_due()
    assert started.phase == "started" and started.late
    (mail,) = bot.deliver()
    assert subject(mail) == ("Maintenance started 27 Nov 2026 17:00 CET (late notice): "
                               "Database upgrade to 17")
    assert ("This notice comes late: it was due Fri 27 Nov 2026 17:00 CET, when the "
            "maintenance started.") in body(mail)
    bot.clock.set(END)
    (ended,) = svc.tell_due()
    assert not ended.late
    (mail,) = bot.deliver()
    assert "late" not in subject(mail) and "late" not in body(mail).lower()


def test_down_for_the_whole_window_only_the_end_is_told_late(bot: Bot) -> None:
    announce(bot)
    bot.clock.set(END + timedelta(hours=2))
    (t,) = bot.app.maintenance.tell_due()
    assert t.phase == "ended" and t.late
    (mail,) = bot.deliver()
    assert subject(mail) == ("Maintenance ended 27 Nov 2026 20:00 CET (late notice): "
                               "Database upgrade to 17")
    assert ("This notice comes late: it was due Fri 27 Nov 2026 20:00 CET, when the "
            "maintenance ended.") in body(mail)
    assert bot.app.maintenance.tell_due() == [] and bot.deliver() == []


def test_the_next_notice_instant_follows_the_windows(bot: Bot) -> None:
    announce(bot)
    svc = bot.app.maintenance
    assert svc.next_notice_at() == START
    bot.clock.set(START)
    svc.tell_due()
    assert svc.next_notice_at() == END
    bot.clock.set(END)
    svc.tell_due()
    assert svc.next_notice_at() is None


async def test_notices_go_out_at_their_instant_not_at_the_next_sweep(bot: Bot) -> None:
    """A real APScheduler with the sweep an hour apart: the start and end notices still go out
    at their instants (within a fraction of a second on an idle machine; the test allows a
    loaded one a minute, which still tells them apart from the hourly sweep)."""
    svc = Maintenance(bot.app.uow, SystemClock(), bot.app.helpdesk.policies, SUPPORT)
    now = datetime.now(UTC)
    start, end = now + timedelta(seconds=1.5), now + timedelta(seconds=3)
    svc.announce(start=start, end=end, summary="Hotfix for T-1001", clients=["globex"],
                 hotfix=True, actor="cli:alice")
    scheduler = AsyncIOScheduler(timezone="UTC")
    sweep = MaintenanceSweep(svc, scheduler=scheduler)
    scheduler.add_job(sweep, "interval", seconds=3600, id="maintenance",
                      next_run_time=datetime.now(UTC), coalesce=True, max_instances=1)
    scheduler.start()
    def told() -> MaintenanceWindow:
        (w,) = [w for w in svc.windows(include_ended=True) if w.summary == "Hotfix for T-1001"]
        return w

    try:  # a loaded machine may be slow; the sweep alone would take an hour
        while datetime.now(UTC) < end + timedelta(seconds=60) and told().ended_told_at is None:
            await asyncio.sleep(0.1)
    finally:
        scheduler.shutdown(wait=True)
    w = told()
    assert w.started_told_at is not None and w.ended_told_at is not None
    # each at its own instant (never before it), long before the hourly sweep would come
    assert start <= w.started_told_at < start + timedelta(seconds=60)
    assert end <= w.ended_told_at < end + timedelta(seconds=60)
