"""The outbox under SIGKILL: a real ``supportbot run`` works through a backlog of
acknowledgements into a real aiosmtpd relay (a process of its own, ``tests/relay_sink.py``)
and is killed outright at random moments, 20 times, then started again each time.

After every kill (the process is gone) the test looks at what the dead process had claimed:
each row still ``sending``. One the relay had already received was killed in the window the
design leaves open: after the relay took the message and before the bot recorded its 250
(``adapters/mail/outbound.py``); the bot's own part of it is closed by its receipt (the
journal on SQLite, a prepared commit on PostgreSQL), so what is left is the relay's work and
the 250's way back. The others never reached the relay. After every restart those rows must go
out at once (not after the stale timeout of ten minutes), before the next kill. At the end
every acknowledgement was received by the relay, and a second receipt is allowed only for a
row killed in that window (it goes again with the same Message-ID, which a relay that dedupes
by Message-ID drops): 0 lost, 0 doubled otherwise. The figures say how many kills fell where.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from adapters.storage import Database
from adapters.storage.tables import OutboxRow
from tests.procs import BotProcess, cli, free_port, storage_toml

ACKS = 240
KILLS = 20
SEED = int(os.environ.get("OUTBOX_CRASH_SEED", "20261202"))
AT_ONCE = 10.0  # seconds: a restart sends the rows of the dead process well within this
MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


class Relay:
    """The relay, ``tests/relay_sink.py`` in a process of its own: what it received, by
    Message-ID, read from its receipts file."""

    def __init__(self, folder: Path) -> None:
        self.file = folder / "relay.receipts"
        port_file = folder / "relay.port"
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.relay_sink", str(port_file),
                                      str(self.file)], cwd=Path(__file__).parent.parent)
        deadline = time.monotonic() + 30
        while not port_file.exists():
            assert self.proc.poll() is None and time.monotonic() < deadline, "no relay"
            time.sleep(0.02)
        self.port = int(port_file.read_text())

    def receipts(self) -> Counter[str]:
        if not self.file.exists():
            return Counter()
        lines = self.file.read_bytes().split(b"\n")
        return Counter(line.decode() for line in lines[:-1])  # the last may be half written

    def count(self) -> int:
        return sum(self.receipts().values())

    def settled(self, quiet: float = 0.3) -> Counter[str]:
        """The receipts once none came for ``quiet`` seconds: a message whose final dot the
        killed bot had written may still be in the relay's socket, and is received after the
        kill (it was in the window, not in flight)."""
        got, since = self.receipts(), time.monotonic()
        while time.monotonic() - since < quiet:
            time.sleep(0.02)
            now = self.receipts()
            if now != got:
                got, since = now, time.monotonic()
        return got

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


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
def relay(tmp_path: Path) -> Iterator[Relay]:
    r = Relay(tmp_path)
    try:
        yield r
    finally:
        r.close()


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
        time.sleep(0.01)
    return time.monotonic() - t0


def test_sigkill_under_load_20_times_loses_nothing_and_doubles_nothing(
        tmp_path: Path, database: Database, relay: Relay) -> None:
    rng = random.Random(SEED)
    config = config_for(tmp_path, database, relay.port)
    box = tmp_path / "reports.mbox"
    box.write_bytes(mbox(ACKS))
    cli(config, "ingest", str(box))
    queued = {r.message_id for r in rows(database)}
    assert len(queued) == ACKS

    bot = BotProcess(config, "outbox")
    in_window: Counter[str] = Counter()  # kills that caught it received, not yet recorded
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
                           lambda c=claimed: all(relay.receipts()[m] for m in c), AT_ONCE, bot)
            if k % 5 == 4:  # now and then while it starts, at a random moment
                time.sleep(rng.uniform(0.0, 1.5))
            else:  # or while it sends: once it sends, after a random few milliseconds
                restart_waits.append(wait_until(
                    "a first mail after the restart", lambda b=before: relay.count() > b,
                    AT_ONCE, bot))
                time.sleep(rng.uniform(0.0, 0.12))
            bot.kill()
            got = relay.settled()
            claimed = [r.message_id for r in rows(database) if r.state == "sending"]
            in_window.update(m for m in claimed if got[m])
            in_flight += sum(not got[m] for m in claimed)
        bot.start()
        wait_until("every acknowledgement", lambda: len(relay.receipts()) == ACKS
                   and all(r.state == "sent" for r in rows(database)), 60, bot)
        assert bot.stop() == 0
    finally:
        bot.close()
    elapsed = time.monotonic() - started

    receipts = relay.receipts()
    noted = sum(len(m.group(1).split(",")) for m in re.finditer(
        r"sent, the others go again .*accepted=([\d,]+)", bot.all_logs()))
    lost = queued - set(receipts)
    doubled = {m for m, n in receipts.items() if n > 1}
    figures = (f"seed={SEED} acks={ACKS} kills={bot.kills} starts={bot.starts} "
               f"in_flight_at_kill={in_flight} in_window_at_kill={sum(in_window.values())} "
               f"noted_accepted={noted} "
               f"doubled={len(doubled)} lost={len(lost)} "
               f"slowest_first_send_after_restart={max(restart_waits):.2f}s "
               f"elapsed={elapsed:.1f}s")
    print(figures)
    assert bot.kills >= KILLS, figures
    assert not lost, f"{figures}: lost {sorted(lost)[:5]}"
    assert set(receipts) == queued, figures
    assert doubled <= set(in_window), \
        f"{figures}: doubled outside the window {doubled - set(in_window)}"
    # each kill that caught a mail in the window may add one copy of it, and no more
    assert all(n <= 1 + in_window[m] for m, n in receipts.items()), figures
    assert [r.state for r in rows(database)] == ["sent"] * ACKS
