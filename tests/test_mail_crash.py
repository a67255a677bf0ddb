"""Durability under SIGKILL: a real ``supportbot run`` takes mail from several concurrent SMTP
clients and is killed outright at random moments, then started again on the same port.

The clients behave like MTAs: a connection error or a 4xx makes them send the same message
again once the bot is back, and some messages are sent twice on purpose (an MTA that lost the
250 to a timeout sends again). Afterwards every message that got a 250 must be stored exactly
once, as exactly one ticket; a second copy must be a ``duplicate`` of it; nothing may stay
pending. A kill is fired by the client thread the instant it reads a 250, so the messages
acknowledged just before each kill are known and checked by name.

Runs on both storage backends (the ``database`` fixture); the bot is a separate process.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import smtplib
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlmodel import col, select

from adapters.storage import Database
from adapters.storage.tables import InboundRow, MessageRow, OutboxRow, TicketRow
from tests.procs import BotProcess, cli_json, free_port, storage_toml

SUPPORT = "support@provider.example"
CLIENTS = 6
PER_CLIENT = 40
RESEND_EVERY = 8  # every 8th message is sent again after its 250 (a lost 250, from the MTA's side)
KILLS = 5  # while the clients send, plus one while starting and one after the sending
SEED = int(os.environ.get("CRASH_SEED", "20261123"))  # another seed: other kill moments
SEND_DEADLINE = 90.0  # seconds for all clients to get every message taken, retries included
PROCESS_DEADLINE = 60.0  # seconds for the last start to process the backlog
MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


def message(c: int, i: int) -> tuple[str, str, bytes]:
    """Message ``i`` of client ``c``: Message-ID, sender (one per message, so every ticket is
    acknowledged) and the raw bytes, CRLF lines."""
    mid = f"<crash-{c}-{i}@c{c}.example>"
    sender = f"user{i}@c{c}.example"
    raw = (f"From: User {c}/{i} <{sender}>\r\nTo: {SUPPORT}\r\n"
           f"Subject: Export {i} fails for client {c}\r\nMessage-ID: {mid}\r\n"
           "Date: Mon, 23 Nov 2026 08:55:00 +0100\r\n\r\n"
           f"The export number {i} of client {c} fails with an error.\r\n"
           ".a line that starts with a dot\r\n").encode()
    return mid, sender, raw


@dataclass
class Traffic:
    """What the clients did, and the kills fired on their 250s. Shared by the client threads."""

    bot: BotProcess
    thresholds: list[int]  # kill when this many 250s were read
    lock: threading.Lock = field(default_factory=threading.Lock)
    acked: list[str] = field(default_factory=list)  # Message-IDs, in the order of their 250
    attempts: int = 0
    retries: int = 0  # attempts that ended in a connection error or a 4xx
    resent: list[str] = field(default_factory=list)  # sent again on purpose after a 250
    failures: list[str] = field(default_factory=list)  # 5xx or a message never taken
    before_kill: list[list[str]] = field(default_factory=list)  # 250s just before each kill
    down: threading.Event = field(default_factory=threading.Event)

    def on_ack(self, mid: str) -> None:
        with self.lock:
            self.acked.append(mid)
            if self.thresholds and len(self.acked) >= self.thresholds[0] \
                    and not self.down.is_set():
                self.thresholds.pop(0)
                assert self.bot.proc is not None
                self.bot.proc.kill()  # SIGKILL, this very instant after reading the 250
                self.before_kill.append(self.acked[-CLIENTS:])
                self.down.set()

    def counts(self) -> str:
        return (f"seed={SEED} messages={CLIENTS * PER_CLIENT} resent_on_purpose={len(self.resent)} "
                f"attempts={self.attempts} 250s={len(self.acked)} retries={self.retries} "
                f"kills={self.bot.kills} starts={self.bot.starts}")


def deliver(port: int, traffic: Traffic, mid: str, raw: bytes, sender: str,
            deadline: float) -> None:
    """Send ``raw`` until the bot answers 250, as an MTA would: the same message again after a
    connection error or a 4xx."""
    while time.monotonic() < deadline:
        with traffic.lock:
            traffic.attempts += 1
        try:
            smtp = smtplib.SMTP("127.0.0.1", port, timeout=15)
        except (OSError, smtplib.SMTPException):
            with traffic.lock:
                traffic.retries += 1
            time.sleep(0.05)  # connection refused: the bot is down, try again shortly
            continue
        try:
            smtp.sendmail(sender, [SUPPORT], raw)
        except smtplib.SMTPRecipientsRefused as e:
            codes = [code for code, _ in e.recipients.values()]
            if any(code >= 500 for code in codes):
                with traffic.lock:
                    traffic.failures.append(f"{mid}: recipient refused {e.recipients}")
                return
        except smtplib.SMTPResponseException as e:
            if e.smtp_code >= 500:
                with traffic.lock:
                    traffic.failures.append(f"{mid}: {e.smtp_code} {e.smtp_error!r}")
                return
        except (OSError, smtplib.SMTPException):
            pass  # the connection died (a kill): not taken as far as we know
        else:
            traffic.on_ack(mid)
            with contextlib.suppress(OSError, smtplib.SMTPException):
                smtp.quit()
            return
        finally:
            smtp.close()
        with traffic.lock:
            traffic.retries += 1
        time.sleep(0.05)
    with traffic.lock:
        traffic.failures.append(f"{mid}: no 250 before the deadline")


def client(port: int, traffic: Traffic, c: int, deadline: float) -> None:
    for i in range(PER_CLIENT):
        mid, sender, raw = message(c, i)
        deliver(port, traffic, mid, raw, sender, deadline)
        if i % RESEND_EVERY == RESEND_EVERY - 1:
            with traffic.lock:
                traffic.resent.append(mid)
            deliver(port, traffic, mid, raw, sender, deadline)


def stored_message_id(raw: bytes) -> str:
    found = MESSAGE_ID.search(raw)
    assert found is not None, raw[:300]
    return found.group(1).decode()


def pending(database: Database) -> int:
    with database.session() as s:
        return len(list(s.exec(select(InboundRow.id).where(InboundRow.state == "pending"))))


@pytest.fixture
def crash_config(tmp_path: Path, database: Database) -> tuple[Path, int]:
    """The bot's settings file (storage from the ``database`` fixture) and its SMTP port."""
    port = free_port()
    path = tmp_path / "supportbot.toml"
    path.write_text(storage_toml(database) + f"""
[smtp]
port = {port}

[mail]
support_addresses = ["{SUPPORT}"]

[scheduler]
enabled = false

[log]
level = "INFO"
""", encoding="utf-8")
    return path, port


def test_every_message_acknowledged_with_250_survives_sigkill(
        crash_config: tuple[Path, int], database: Database) -> None:
    config, port = crash_config
    rng = random.Random(SEED)
    total = CLIENTS * PER_CLIENT + CLIENTS * (PER_CLIENT // RESEND_EVERY)
    bot = BotProcess(config, "crashbot")
    traffic = Traffic(bot, sorted(rng.sample(range(15, total - 15), KILLS)))
    boot_kill = rng.randrange(KILLS)  # after this kill, kill once more while it starts
    start_time = time.monotonic()
    try:
        bot.start()
        deadline = time.monotonic() + SEND_DEADLINE
        threads = [threading.Thread(target=client, args=(port, traffic, c, deadline),
                                    name=f"smtp-client-{c}") for c in range(CLIENTS)]
        for t in threads:
            t.start()
        restarts = 0
        while any(t.is_alive() for t in threads):
            if not traffic.down.wait(timeout=0.1):
                continue
            assert bot.proc is not None
            bot.proc.wait(timeout=30)
            bot.kills += 1
            if restarts == boot_kill:  # a kill while it starts: schema check, pending sweep
                bot.start(wait=False)
                time.sleep(rng.uniform(0.2, 1.2))
                bot.kill()
            restarts += 1
            bot.start()
            traffic.down.clear()
        for t in threads:
            t.join()
        sending = time.monotonic() - start_time
        # once more, now that nobody sends: whatever was mid-processing is left to a new start
        bot.kill()
        bot.start()
        until = time.monotonic() + PROCESS_DEADLINE
        while (left := pending(database)) and time.monotonic() < until:
            assert bot.proc is not None and bot.proc.poll() is None, bot.log()
            time.sleep(0.2)
        assert left == 0, f"{left} inbound message(s) still pending after {PROCESS_DEADLINE}s " \
                          f"({traffic.counts()}):\n{bot.log()}"
        assert bot.stop() == 0, bot.log()
        logs = bot.all_logs()
    finally:
        bot.close()
    counts = traffic.counts() + f" sending={sending:.1f}s"

    assert not traffic.failures, f"{counts}\n" + "\n".join(traffic.failures)
    assert bot.kills == KILLS + 2, counts
    assert len(traffic.before_kill) == KILLS, counts
    assert traffic.retries > 0, f"no client ever had to retry: the kills hit nothing ({counts})"
    assert "Traceback" not in logs, logs

    with database.session() as s:
        inbound = list(s.exec(select(InboundRow).order_by(col(InboundRow.id))))
        stored = list(s.exec(select(MessageRow).where(MessageRow.direction == "in")))
        tickets = list(s.exec(select(TicketRow)))
        acks = list(s.exec(select(OutboxRow).where(OutboxRow.purpose == "ack")))

    states = Counter(r.state for r in inbound)
    counts += (f" inbound_rows={len(inbound)} states={dict(states)} tickets={len(tickets)}"
               f" copies_whose_250_was_lost={states['duplicate'] - len(traffic.resent)}")
    assert set(states) <= {"done", "duplicate"}, counts  # nothing pending, failed, quarantined

    by_mid: dict[str, list[InboundRow]] = defaultdict(list)
    for row in inbound:
        by_mid[stored_message_id(row.raw)].append(row)
    acked = set(traffic.acked)
    senders = {mid: sender for mid, sender, _ in (message(c, i) for c in range(CLIENTS)
                                                     for i in range(PER_CLIENT))}
    sent = set(senders)
    assert acked == sent, f"not every message got its 250 ({counts})"
    missing = sorted(acked - set(by_mid))
    assert not missing, f"{len(missing)} message(s) acknowledged with 250 but not stored " \
                        f"({counts}): {missing[:10]}"
    assert set(by_mid) <= sent, counts
    # the point of it all: what was acknowledged the instant before each kill is there
    for k, last in enumerate(traffic.before_kill, 1):
        lost = [m for m in last if m not in by_mid]
        assert not lost, f"kill {k}: acknowledged just before it, lost: {lost} ({counts})"

    # one ticket per message: the first copy registers it, every other copy is its duplicate
    ticket_of: dict[str, int] = {}
    for mid, rows in by_mid.items():
        done = [r for r in rows if r.state == "done"]
        assert len(done) == 1, f"{mid}: {[(r.id, r.state) for r in rows]} ({counts})"
        tid = done[0].ticket_id
        assert tid is not None, f"{mid}: done without a ticket ({counts})"
        assert {r.ticket_id for r in rows} == {tid}, \
            f"{mid}: copies point at different tickets {[(r.id, r.ticket_id) for r in rows]}"
        ticket_of[mid] = tid
    assert len(set(ticket_of.values())) == len(ticket_of), f"a ticket shared ({counts})"
    assert len(tickets) == len(by_mid), f"tickets duplicated or missing ({counts})"
    for mid in traffic.resent:  # sent twice on purpose: the second copy is a duplicate
        assert [r.state for r in by_mid[mid]].count("duplicate") >= 1, \
            f"{mid} was sent twice but has {[r.state for r in by_mid[mid]]} ({counts})"
    duplicates = states["duplicate"]
    assert duplicates >= len(traffic.resent), counts

    # the stored message (raw kept on the ticket) exists once per Message-ID
    per_mid = Counter(m.message_id for m in stored)
    assert per_mid == Counter(set(by_mid)), \
        f"stored messages: {[(m, n) for m, n in per_mid.items() if n != 1][:10]} ({counts})"
    assert {m.message_id: m.ticket_id for m in stored} == ticket_of, counts
    # and each ticket was acknowledged exactly once (deterministic ack Message-IDs)
    assert Counter(a.ticket_id for a in acks) == Counter(ticket_of.values()), counts

    # the operator's view agrees: one email ticket per sender, as the CLI lists them
    listed = cli_json(config, "tickets", "list", "--limit", "10000")
    assert sorted(t["requester"] for t in listed) == sorted(senders[m] for m in by_mid), counts
    assert {t["channel"] for t in listed} == {"email"}, counts
    print(f"\n{counts}")
