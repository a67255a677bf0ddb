"""Two bots mailing each other fall silent (RFC 3834): real ``supportbot run`` processes A and B,
each with its own database and SMTP port, each relaying its outgoing mail into the other's SMTP
intake. Mail that one bot sends must be taken by the other as automatic (recorded, never
answered), so a conversation between them ends after a bounded number of mails.

A's storage is the ``database`` fixture's backend; B's is a second SQLite file or a second
PostgreSQL schema. Quiet is observed, not assumed: the test polls both databases until nothing
is pending and nothing changed for two outbox-sender intervals.
"""

from __future__ import annotations

import smtplib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from adapters.storage import Database
from adapters.storage.tables import InboundRow, OutboxRow, TicketRow
from tests.conftest import make_database
from tests.procs import BotProcess, cli, cli_json, free_port, storage_toml

A_SUPPORT = "support@a.example"
B_SUPPORT = "support@b.example"
SENDER_INTERVAL = 1.0  # [relay] poll_seconds below: a due mail goes out within it
QUIET = 2 * SENDER_INTERVAL + 0.5  # nothing pending and nothing changed for this long
DEADLINE = 40.0  # seconds from the first mail until both bots must be quiet
MAX_EXCHANGED = 4  # mails the two bots may send each other for one conversation


def mail(sender: str, to: str, subject: str, mid: str, body: str) -> bytes:
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {mid}\r\n"
            "Date: Mon, 23 Nov 2026 08:55:00 +0100\r\n\r\n" f"{body}\r\n").encode()


def send(port: int, envelope_from: str, rcpt: str, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
        c.sendmail(envelope_from, [rcpt], raw)


@dataclass
class Side:
    """One bot: its process, settings file, database and SMTP port."""

    name: str
    support: str
    port: int
    db: Database
    config: Path
    bot: BotProcess

    def inbound(self) -> list[InboundRow]:
        with self.db.session() as s:
            return list(s.exec(select(InboundRow).order_by(col(InboundRow.id))))

    def outbox(self) -> list[OutboxRow]:
        with self.db.session() as s:
            return list(s.exec(select(OutboxRow).order_by(col(OutboxRow.id))))

    def ticket_count(self) -> int:
        with self.db.session() as s:
            return len(list(s.exec(select(TicketRow.id))))

    def snapshot(self) -> tuple[Any, ...]:
        return (tuple((r.id, r.state) for r in self.inbound()),
                tuple((r.id, r.state, r.attempts) for r in self.outbox()), self.ticket_count())

    def tickets(self) -> list[dict[str, Any]]:
        return list(cli_json(self.config, "tickets", "list", "--limit", "1000"))


def busy(snapshot: tuple[Any, ...]) -> bool:
    inbound, outbox, _ = snapshot
    return any(state == "pending" for _, state in inbound) or any(
        state in ("pending", "sending") for _, state, _ in outbox)


def wait_quiet(a: Side, b: Side) -> float:
    """Poll both databases until nothing is pending on either side and nothing changed for
    ``QUIET`` seconds; returns the seconds it took. Fails with both logs after ``DEADLINE``."""
    start = time.monotonic()
    last: tuple[Any, ...] | None = None
    since = start
    while True:
        now = time.monotonic()
        snap = (a.snapshot(), b.snapshot())
        if snap != last:
            last, since = snap, now
        elif not any(busy(s) for s in snap) and now - since >= QUIET:
            return now - start
        for side in (a, b):
            assert side.bot.proc is not None and side.bot.proc.poll() is None, \
                f"bot {side.name} ended:\n{side.bot.log()}"
        if now - start > DEADLINE:
            pytest.fail(f"the bots did not fall silent within {DEADLINE}s: the mail loop does "
                        f"not converge.\nA: {snap[0]}\nB: {snap[1]}\n"
                        f"--- A\n{a.bot.log()}\n--- B\n{b.bot.log()}")
        time.sleep(0.25)


def config_text(database: Database, support: str, port: int, relay_port: int,
                extra: str) -> str:
    return storage_toml(database) + f"""
[smtp]
port = {port}

[mail]
support_addresses = ["{support}"]
{extra}
[relay]
host = "127.0.0.1"
port = {relay_port}
timeout_seconds = 10
poll_seconds = {SENDER_INTERVAL}

[log]
level = "INFO"
"""


VARIANTS: dict[str, tuple[str, str]] = {
    # (A's extra settings, B's extra settings)
    "strangers": ("", ""),
    "contacts": (  # each bot's address is a contact of a client of the other
        '\n[[clients]]\nname = "b-corp"\nemails = ["support@b.example"]\n'
        'email_domains = ["b.example"]\n',
        '\n[[clients]]\nname = "a-corp"\nemails = ["support@a.example"]\n'),
    "reject": ("", 'unknown_senders = "reject"\n'),  # B answers strangers with a refusal
}


@pytest.fixture
def second_database(tmp_path: Path, database: Database) -> Iterator[Database]:
    """B's storage: a second SQLite file, or a second schema on the same PostgreSQL."""
    folder = tmp_path / "b"
    folder.mkdir()
    db = make_database(folder)
    db.upgrade()
    try:
        yield db
    finally:
        db.drop_schema()
        db.dispose()


@pytest.fixture
def pair(request: pytest.FixtureRequest, tmp_path: Path, database: Database,
         second_database: Database) -> Iterator[tuple[Side, Side]]:
    a_extra, b_extra = VARIANTS[request.param]
    a_port, b_port = free_port(), free_port()
    while b_port == a_port:
        b_port = free_port()
    sides = []
    for name, support, db, port, other, extra in (
            ("a", A_SUPPORT, database, a_port, b_port, a_extra),
            ("b", B_SUPPORT, second_database, b_port, a_port, b_extra)):
        folder = tmp_path / f"bot-{name}"
        folder.mkdir()
        config = folder / "supportbot.toml"
        config.write_text(config_text(db, support, port, other, extra), encoding="utf-8")
        sides.append(Side(name, support, port, db, config, BotProcess(config, f"bot-{name}")))
    a, b = sides
    try:
        for side in sides:
            side.bot.start()
        yield a, b
        for side in sides:
            assert side.bot.stop() == 0, side.bot.log()
            assert "Traceback" not in side.bot.all_logs(), side.bot.all_logs()
    finally:
        for side in sides:
            side.bot.close()


def auto_submitted(raw: bytes) -> str | None:
    return message_from_bytes(raw, policy=default_policy).get("Auto-Submitted")


def check_converged(a: Side, b: Side, originals: dict[str, int]) -> dict[str, Any]:
    """What must hold once both are quiet; returns the counts for the report."""
    sides = {"a": a, "b": b}
    other = {"a": b, "b": a}
    counts: dict[str, Any] = {}
    sent_total = 0
    for name, side in sides.items():
        out = side.outbox()
        peer_inbound = other[name].inbound()
        by_mid: dict[str, list[InboundRow]] = {}
        for row in peer_inbound:
            parsed = message_from_bytes(row.raw, policy=default_policy)
            by_mid.setdefault(str(parsed.get("Message-ID", "")).strip(), []).append(row)
        sent = [r for r in out if r.state == "sent"]
        sent_total += len(sent)
        counts[f"{name}_outbox"] = [(r.purpose, r.recipients, r.state) for r in out]
        for r in out:
            assert r.state in ("sent", "failed"), (name, r.id, r.state, r.last_error)
            token = auto_submitted(r.raw)
            if r.purpose == "reply":  # a person wrote it: it must not claim to be automatic
                assert token is None, f"{name}'s staff reply {r.message_id} says {token!r}"
            else:
                assert token is not None and token.strip().lower() != "no", \
                    f"{name}'s {r.purpose} mail {r.message_id} has Auto-Submitted={token!r}"
            if r.state == "failed":  # only a recipient the other bot does not take for itself
                assert "550" in r.last_error and other[name].support not in r.recipients, \
                    (name, r.recipients, r.last_error)
        for r in sent:  # each arrived once and was taken for what it is: automatic mail
            rows = by_mid.get(r.message_id, [])
            assert len(rows) == 1, f"{name}'s {r.message_id} arrived {len(rows)} times"
            got = rows[0]
            if r.purpose == "reply":  # a person's mail: the other side may take it as a report
                assert got.state == "done", (name, got.state, got.reason)
                continue
            assert got.state == "ignored" and "Auto-Submitted" in got.reason, \
                (f"bot {other[name].name} did not recognise {name}'s {r.purpose} mail as "
                 f"automatic: state={got.state} reason={got.reason!r}")
        for row in side.inbound():
            assert row.state != "pending", (name, row.id)
    counts["exchanged"] = sent_total
    assert sent_total <= MAX_EXCHANGED, f"the bots exchanged {sent_total} mails: {counts}"
    for name, side in sides.items():
        tickets = side.tickets()
        counts[f"{name}_tickets"] = len(tickets)
        assert len(tickets) <= originals[name], \
            f"{name} opened {len(tickets)} tickets for {originals[name]} original mails"
        for t in tickets:
            assert t["requester"] != side.support, t  # never its own address as a requester
            acks = [e for e in t["events"] if e["kind"] == "mail_sent"]
            assert len(acks) <= 2, t  # an acknowledgement, and a staff reply at most
            assert not [e for e in t["events"] if e["kind"] == "message_received"], \
                f"{name}'s {t['reference']} took the other bot's mail as a follow-up: {t}"
    return counts


@pytest.mark.parametrize("pair", list(VARIANTS), indirect=True)
def test_two_bots_mailing_each_other_fall_silent(pair: tuple[Side, Side],
                                                 request: pytest.FixtureRequest) -> None:
    a, b = pair
    variant = request.node.callspec.params["pair"]
    # as if B had written to A (a human-like mail from B's support address)...
    send(a.port, B_SUPPORT, A_SUPPORT,
         mail(f"Support B <{B_SUPPORT}>", A_SUPPORT, "Your invoice 2026-11 is wrong",
              "<from-b-1@b.example>", "The amount on invoice 2026-11 is wrong."))
    # ... and an ordinary report from a person at b.example
    send(a.port, "jo@b.example", A_SUPPORT,
         mail("Jo <jo@b.example>", A_SUPPORT, "Login broken", "<jo-1@b.example>",
              "I cannot log in since this morning."))
    originals = {"a": 2, "b": 0}
    if variant == "reject":  # and A "writes" to B, a stranger to B: B refuses by mail
        send(b.port, A_SUPPORT, B_SUPPORT,
             mail(f"Support A <{A_SUPPORT}>", B_SUPPORT, "Question about your API",
                  "<from-a-1@a.example>", "Which API version do you run?"))
    took = wait_quiet(a, b)
    counts = check_converged(a, b, originals)

    [from_b] = [t for t in a.tickets() if t["requester"] == B_SUPPORT]
    assert from_b["client"] == ("b-corp" if variant == "contacts" else None), from_b
    assert [r.state for r in a.inbound()[:2]] == ["done", "done"], counts
    a_out = {tuple(r.recipients): r for r in a.outbox()}
    assert a_out[(B_SUPPORT,)].state == "sent", counts  # the ack reached B...
    assert a_out[("jo@b.example",)].state == "failed", counts  # ...B relays for nobody
    if variant == "reject":
        [refusal] = b.outbox()
        assert (refusal.purpose, refusal.recipients, refusal.state) == (
            "not-registered", [A_SUPPORT], "sent"), counts
        [asked] = [r for r in b.inbound() if b"<from-a-1@a.example>" in r.raw]
        assert asked.state == "ignored" and "not a contact" in asked.reason, asked.reason
    else:
        assert b.outbox() == [], counts  # B answered nothing

    if variant == "contacts":  # staff at A answer B's report: B must not answer that either
        cli(a.config, "tickets", "reply", from_b["reference"], "--actor", "alice",
            "--message", "We corrected invoice 2026-11.")
        took += wait_quiet(a, b)
        # a person's reply is a report to B: one ticket there, one acknowledgement back,
        # which A records as automatic - and then both fall silent
        originals["b"] = 1
        counts = check_converged(a, b, originals)
        [reply] = [r for r in a.outbox() if r.purpose == "reply"]
        assert reply.state == "sent" and reply.recipients == [B_SUPPORT], counts
        [b_ack] = b.outbox()
        assert (b_ack.purpose, b_ack.recipients, b_ack.state) == ("ack", [A_SUPPORT], "sent")
    print(f"\n{variant}: quiet after {took:.1f}s (incl. {QUIET}s of observed silence "
          f"per phase): {counts}")
