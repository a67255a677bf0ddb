"""Reminders from real ``supportbot run`` processes on a 24/7 policy with second-scale targets:
in order, each once, across a SIGKILL and a restart (the missed one late, once), re-planned by a
priority change made from another process, cancelled by a response; and with two instances on
one database, exactly one schedules and the other takes over when it is killed.

Tickets are registered and changed through the real services from this process while the bot
runs: the bot learns of them only through the database, as it would from the CLI.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from adapters.bootstrap import bootstrap
from adapters.storage import Database
from adapters.storage.reminders import ReminderStore
from adapters.storage.tables import ReminderRow
from bot.priority import Priority
from config.settings import load_settings
from tests.procs import BotProcess, storage_toml

FAST = """[policy]
name = "fast247"
title = "24/7 with second targets, for tests"

[calendar]
timezone = "UTC"
windows = { daily = ["00:00-24:00"] }

[clocks.response]
start = ["registered"]
stop = ["responded", "closed"]
targets = { P1 = "12s", P2 = "30s", P3 = "60s", P4 = "120s" }

[compliance]
period = "monthly"
anchor = 2026-01-01
targets = { response = 0.9 }

[reminders]
shares = [0.25, 0.5, 0.75]
repeat_every = "6s"
"""


@pytest.fixture
def config(tmp_path: Path, database: Database) -> Path:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "fast247.toml").write_text(FAST, encoding="utf-8")
    path = tmp_path / "supportbot.toml"
    path.write_text(storage_toml(database) + """
[smtp]
enabled = false

[policies]
paths = ["policies"]

[reminders]
poll_seconds = 0.2

[[clients]]
name = "nightowl"
policy = "fast247"
email_domains = ["nightowl.example"]
""", encoding="utf-8")
    return path


class Desk:
    """The real services on the bot's database, from the test process (like the CLI)."""

    def __init__(self, config: Path) -> None:
        self.app = bootstrap(load_settings(config, env={}, cwd=config.parent))

    def register(self, subject: str, priority: Priority) -> tuple[str, datetime]:
        v = self.app.helpdesk.register(subject=subject, client="nightowl", priority=priority,
                                       actor="seed", reason="test")
        return v.reference, v.ticket.created_at

    def wait_until_sent(self, key: str, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self.app.db.session() as s:
                state = s.exec(select(ReminderRow.state).where(ReminderRow.key == key)).first()
            if state == "sent":
                return
            time.sleep(0.05)
        raise AssertionError(f"reminder {key} not recorded as sent within {seconds} s")

    def close(self) -> None:
        self.app.close()


def line(ref: str, threshold: str, repeat: int = 0) -> str:
    return rf"^\S+ \w+ supportbot\.alerts: [\w-]+ key={ref}/response/{threshold}/{repeat} .*$"


def sleep_until(t: datetime) -> None:
    time.sleep(max(0.0, (t - datetime.now(UTC)).total_seconds()))


def keys(log: str) -> list[str]:
    return re.findall(r"supportbot\.alerts: [\w-]+ key=(\S+)", log)


def test_reminders_survive_a_kill_and_follow_priority_changes_and_responses(
        config: Path, database: Database) -> None:
    bot = BotProcess(config, "bot")
    desk = Desk(config)
    thresholds = [f"P1-{s}" for s in ("25%", "50%", "75%", "breach")]
    try:
        bot.start()
        bot.wait_for(r"reminder scheduler leading")
        a, t0 = desk.register("Site down", Priority.P1)  # 12s: 3s, 6s, 9s, breach 12s, 18s...
        b, _ = desk.register("Reports slow", Priority.P4)  # 120s: nothing for 30s
        bot.wait_for(line(a, "P1-25%"))
        desk.wait_until_sent(f"{a}/response/P1-25%/0")  # not killed between sink and record
        bot.kill()  # no handler runs: whatever was in flight is as it was
        sleep_until(t0 + timedelta(seconds=6.2))  # the 50% reminder is missed meanwhile
        bot.start()
        # whatever was missed goes out once, late: the latest threshold passed (how many
        # passed depends on how long the start took on a busy machine)
        (missed,) = bot.wait_for(rf"^\S+ \w+ supportbot\.alerts: [\w-]+ key={a}/.*$")
        assert "late=True" in missed.group(0), bot.log()
        bot.wait_for(line(a, "P1-breach"))
        # raised to P1 from another process: its 12s target ran out already: breached
        desk.app.helpdesk.set_priority(b, Priority.P1, actor="alice", reason="all users")
        bot.wait_for(line(b, "P1-breach"))
        desk.app.helpdesk.respond(a, actor="alice")  # met: no more repeats for it
        bot.wait_for(line(b, "P1-breach", 1))  # 6s later, after a's repeat would have been due
        assert bot.stop() == 0
        first_log, second_log = (p.read_text(encoding="utf-8") for p in bot.logs)
    finally:
        bot.close()
        desk.close()
    log = first_log + second_log
    assert "Traceback" not in log and " ERROR " not in log, log
    assert keys(first_log) == [f"{a}/response/P1-25%/0"], log
    after = keys(second_log)
    assert len(after) == len(set(after)), log
    resent = [k for k in after if k.startswith(f"{a}/")]
    late = re.findall(r"key=(\S+) .* late=True", second_log)
    assert late == resent[:1], log  # only the first after the restart is late
    assert resent[-1] == f"{a}/response/P1-breach/0"  # and no repeat after the response
    assert [k for k in after if k.startswith(f"{b}/")] == [f"{b}/response/P1-breach/0",
                                                           f"{b}/response/P1-breach/1"]
    rows = {r["key"]: r for r in ReminderStore(database).list()}
    # none lost: every threshold of a was sent once or recorded as superseded by a later one
    a_rows = {k.split("/")[2]: r["state"] for k, r in rows.items() if k.startswith(f"{a}/")}
    assert set(a_rows) == set(thresholds), a_rows
    skipped = [t for t in thresholds if a_rows[t] == "skipped"]
    assert skipped == [t for t in thresholds[1:] if f"{a}/response/{t}/0" not in resent]
    assert 1 + len(skipped) + len(resent) == len(thresholds)  # 25% went before the kill
    assert all(rows[k]["state"] == "sent" for k in after + keys(first_log))
    assert rows[resent[0]]["late"] is True


def test_two_instances_one_schedules_and_the_other_takes_over(config: Path) -> None:
    first, second = BotProcess(config, "first"), BotProcess(config, "second")
    desk = Desk(config)
    try:
        first.start()
        first.wait_for(r"reminder scheduler leading")
        second.start()
        a, _ = desk.register("Site down", Priority.P1)
        first.wait_for(line(a, "P1-25%"))
        # killed once the delivery is recorded: a kill between a sink and the record would
        # rightly deliver it again (at least once), which is not what this test is about
        desk.wait_until_sent(f"{a}/response/P1-25%/0")
        assert "reminder scheduler leading" not in second.log()
        assert keys(second.log()) == []
        first.kill()
        second.wait_for(r"reminder scheduler leading")
        second.wait_for(line(a, "P1-50%"))
        assert second.stop() == 0
    finally:
        first.close()
        second.close()
        desk.close()
    sent = keys(first.all_logs()) + keys(second.all_logs())
    assert sent == [f"{a}/response/P1-{s}/0" for s in ("25%", "50%")], \
        first.all_logs() + second.all_logs()
    assert keys(first.all_logs()) == [f"{a}/response/P1-25%/0"]
