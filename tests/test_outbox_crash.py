"""The outbox under SIGKILL: a real ``supportbot run`` works through a backlog of
acknowledgements into a real aiosmtpd relay and is killed outright at random moments, 20 times,
then started again each time.

After every kill (the process is gone) the test looks at what the dead process had claimed:
each row still ``sending``. One the relay had already received was killed in the window the
design leaves (between the relay's 250 and the commit of ``sent``: see ``adapters/outbox``);
the others never reached the relay. After every restart those rows must go out at once (not
after the stale timeout of ten minutes) before the next kill. At the end every acknowledgement
was received by the relay, and a second receipt is only allowed for a row killed in that
window (it goes again with the same Message-ID, which a relay that dedupes by Message-ID
drops): 0 lost, 0 doubled otherwise.
"""

from __future__ import annotations

import os
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from adapters.storage import Database
from adapters.storage.tables import OutboxRow
from tests.mailpeers import LoopThread, Sink
from tests.procs import BotProcess, cli, free_port, storage_toml

ACKS = 240
KILLS = 20
SEED = int(os.environ.get("OUTBOX_CRASH_SEED", "20261202"))
AT_ONCE = 10.0  # seconds: a restart sends the rows of the dead process well within this
MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


class TimedSink(Sink):
    """The relay: keeps every receipt, with when it came, by Message-ID."""

    def __init__(self, lt: LoopThread) -> None:
        super().__init__(lt)
        self.arrived = threading.Condition()

    def receipts(self) -> list[str]:
        with self.handler._lock:
            raws = [raw for _, _, raw in self.handler.received]
        return [m.group(1).decode() for raw in raws if (m := MESSAGE_ID.search(raw))]

    def count(self) -> int:
        with self.handler._lock:
            return len(self.handler.received)


def mbox(n: int) -> bytes:
    """``n`` reports from ``n`` senders (each acknowledged: one ack per sender and hour)."""
    parts = []
    for i in range(n):
        parts.append(
            f"From user{i}@nightowl.example Mon Nov 23 08:55:00 2026\n"
            f"From: User {i} <user{i}@nightowl.example>\nTo: support@provider.example\n"
            f"Subject: Export {i} fails\nMessage-ID: <oc-{i}@nightowl.example>\n"
            "Date: Mon, 23 Nov 2026 08:55:00 +0100\n\n"
            f"The export number {i} fails with an error.\n\n")
    return "".join(parts).encode()


@pytest.fixture
def relay() -> Iterator[TimedSink]:
    lt = LoopThread()
    sink = TimedSink(lt)
    try:
        yield sink
    finally:
        sink.close()
        lt.close()


def config_for(tmp_path: Path, database: Database, relay_port: int) -> Path:
    text = storage_toml(database) + f"""
[smtp]
enabled = false
port = {free_port()}

[relay]
host = "127.0.0.1"
port = {relay_port}
poll_seconds = 60

[scheduler]
enabled = false

[mail]
support_addresses = ["support@provider.example"]
ack_limit_per_hour = 1000

[[clients]]
name = "nightowl"
policy = "demo247"
email_domains = ["nightowl.example"]
"""
    path = tmp_path / "supportbot.toml"
    path.write_text(text, encoding="utf-8")
    return path


def rows(database: Database) -> list[OutboxRow]:
    with database.session() as s:
        return list(s.exec(select(OutboxRow).where(OutboxRow.kind == "mail")
                           .order_by(col(OutboxRow.id))))


def wait_until(what: str, ok: Any, timeout: float, log: BotProcess) -> float:
    """Seconds until ``ok()``; fails with the bot's log after ``timeout``."""
    t0 = time.monotonic()
    while not ok():
        if time.monotonic() - t0 > timeout:
            pytest.fail(f"{what} not within {timeout}s:\n{log.log()[-4000:]}")
        time.sleep(0.005)
    return time.monotonic() - t0


def test_sigkill_under_load_20_times_loses_nothing_and_doubles_nothing(
        tmp_path: Path, database: Database, relay: TimedSink) -> None:
    rng = random.Random(SEED)
    config = config_for(tmp_path, database, relay.port)
    box = tmp_path / "reports.mbox"
    box.write_bytes(mbox(ACKS))
    cli(config, "ingest", str(box))
    queued = {r.message_id for r in rows(database)}
    assert len(queued) == ACKS

    bot = BotProcess(config, "outbox")
    in_window: set[str] = set()  # received by the relay, not yet recorded, at a kill
    in_flight = 0  # claimed and not received at a kill: never reached the relay
    restart_waits: list[float] = []
    started = time.monotonic()
    try:
        claimed: list[str] = []
        for k in range(KILLS):
            before = relay.count()
            bot.start(wait=False)
            if claimed:  # what the dead process had claimed goes out at once
                wait_until("the dead process's claimed rows",
                           lambda c=claimed: set(c) <= set(relay.receipts()), AT_ONCE, bot)
            if k % 5 == 4:  # now and then while it starts, at a random moment
                time.sleep(rng.uniform(0.0, 1.5))
            else:  # or while it sends: once it sends, after a random few milliseconds
                restart_waits.append(wait_until(
                    "a first mail after the restart", lambda b=before: relay.count() > b,
                    AT_ONCE, bot))
                time.sleep(rng.uniform(0.0, 0.12))
            bot.kill()
            got = set(relay.receipts())
            claimed = [r.message_id for r in rows(database) if r.state == "sending"]
            in_window |= {m for m in claimed if m in got}
            in_flight += sum(m not in got for m in claimed)
        bot.start()
        wait_until("every acknowledgement", lambda: queued <= set(relay.receipts())
                   and all(r.state == "sent" for r in rows(database)), 60, bot)
        assert bot.stop() == 0
    finally:
        bot.close()
    elapsed = time.monotonic() - started

    receipts = Counter(relay.receipts())
    lost = queued - set(receipts)
    doubled = {m for m, n in receipts.items() if n > 1}
    figures = (f"seed={SEED} acks={ACKS} kills={bot.kills} starts={bot.starts} "
               f"in_flight_at_kill={in_flight} in_window_at_kill={len(in_window)} "
               f"doubled={len(doubled)} lost={len(lost)} "
               f"slowest_first_send_after_restart={max(restart_waits):.2f}s "
               f"elapsed={elapsed:.1f}s")
    print(figures)
    assert bot.kills >= KILLS, figures
    assert not lost, f"{figures}: lost {sorted(lost)[:5]}"
    assert set(receipts) == queued, figures
    assert doubled <= in_window, f"{figures}: doubled outside the window {doubled - in_window}"
    assert all(n <= 2 for n in receipts.values()), figures
    assert [r.state for r in rows(database)] == ["sent"] * ACKS
