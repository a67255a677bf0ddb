"""Every message of the shared real-world corpus through the SMTP intake and processing.

None may crash the bot or be lost: each ends as a ticket, a follow-up, a duplicate, a recorded
automatic message, or in quarantine with a reason. No bounce or automatic reply is answered.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from adapters.mail.outbound import outbox_rows
from adapters.storage import SqlUnitOfWork
from tests.conftest import missing_peer
from tests.mailbot import Bot

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def crlf(raw: bytes) -> bytes:
    """As an MTA hands a message on: CRLF line ends, ending with one."""
    lines = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return lines.rstrip(b"\n").replace(b"\n", b"\r\n") + b"\r\n"


def corpus() -> list[tuple[str, str]]:
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.is_file():
        return []
    with manifest.open(encoding="utf-8") as f:
        return [(row["file"], row["category"]) for row in csv.DictReader(f, delimiter="\t")]


def test_every_corpus_message_is_taken_and_none_is_lost(bot: Bot) -> None:
    files = corpus()
    if not files:
        missing_peer(f"the shared corpus is not at {CORPUS}")
    by_id: dict[int, tuple[str, str]] = {}
    for name, category in files:
        bot.send(crlf((CORPUS / name).read_bytes()))
        with SqlUnitOfWork(bot.app.db, write=False) as uow:
            newest = uow.inbound.list(limit=1)[0]
        by_id[newest.id] = (name, category)
    assert len(by_id) == len(files), "every message got its own 250 and row"

    outcomes = {}
    while batch := bot.process():  # 100 at a time
        outcomes.update({o.inbound_id: o for o in batch})
    with SqlUnitOfWork(bot.app.db, write=False) as uow:
        rows = {i.id: i for i in uow.inbound.list(limit=10_000)}
    states = Counter(r.state for r in rows.values())
    assert states["pending"] == 0, states
    assert set(states) <= {"done", "duplicate", "ignored", "quarantined"}, states
    for r in rows.values():
        if r.state == "quarantined":
            assert r.reason, f"{by_id[r.id][0]} quarantined without a reason"
        if r.state == "done":
            assert r.ticket_id is not None, by_id[r.id]

    automatic = {i for i, (_, cat) in by_id.items() if cat in ("bounce", "autoreply")}
    # One file the corpus files as a bounce is, read closely, not one: a multipart message
    # whose part lacks a Content-Type; it is an ordinary mail and may open a ticket.
    ordinary_after_all = {"ruby-mail/mime_emails__raw_email_with_mimepart_without_content_type.eml"}
    for i in automatic:
        name, _ = by_id[i]
        if name in ordinary_after_all:
            continue
        assert rows[i].state in ("ignored", "duplicate", "quarantined"), \
            f"{name}: automatic mail must not open a ticket ({rows[i].state}: {rows[i].reason})"

    # no acknowledgement answers an automatic message
    acked = {o.inbound_id for o in outcomes.values() if o.action.endswith("acknowledged")}
    assert not (acked & {i for i in automatic if by_id[i][0] not in ordinary_after_all})
    bot.deliver()
    sent_to = Counter(r.recipients[0] for r in outbox_rows(bot.app.db, limit=10_000))
    robots = [a for a in sent_to if a.split("@")[0] in ("mailer-daemon", "postmaster")]
    assert robots == [], "mail sent to a mail system"  # long-links.eml is from postmaster@
    assert sum(sent_to.values()) == len(acked)
    print(f"corpus: {len(files)} messages, outcomes {dict(states)}, "
          f"acknowledgements {sum(sent_to.values())}")


@pytest.mark.parametrize("name", ["flanker/enclosed-endless.eml", "flanker/long-header.eml"])
def test_pathological_messages_are_handled_quickly(bot: Bot, name: str) -> None:
    path = CORPUS / name
    if not path.is_file():
        missing_peer(f"the shared corpus is not at {CORPUS}")
    bot.send(crlf(path.read_bytes()))
    [o] = bot.process()
    assert o.state in ("done", "quarantined", "ignored"), o
