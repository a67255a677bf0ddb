"""Automatic mail of issue 17 through the real SMTP intake and through the MTA pipe (``supportbot
ingest``): none opens a ticket or gets an acknowledgement, and the one about a mail the bot sent
is recorded on that mail's ticket. The messages are the public ones of ``tests/corpus_auto``;
three have the Message-ID of the bounced mail set to the bot's acknowledgement, as a real bounce
of it would carry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.storage import Database
from bot.model import EventKind
from tests.mailbot import SUPPORT, Bot, mail
from tests.procs import run_main, storage_toml

CORPUS = Path(__file__).resolve().parent / "corpus_auto"


def crlf(raw: bytes) -> bytes:
    """As an MTA hands a message on: CRLF line ends."""
    return raw.replace(b"\r\n", b"\n").rstrip(b"\n").replace(b"\n", b"\r\n") + b"\r\n"


def corpus(name: str, **replace: str) -> bytes:
    raw = (CORPUS / name).read_bytes()
    for old, new in replace.items():
        assert old.encode() in raw, (name, old)
        raw = raw.replace(old.encode(), new.encode())
    return crlf(raw)


UNRELATED = [  # about mail the bot never sent: recorded, no ticket matched
    "sisimai/arf-01.eml",  # ARF abuse report with the reported message attached
    "sisimai/arf-22.eml",  # Hotmail complaint (message/rfc822 in multipart/mixed)
    "sisimai/lhost-amazonses-11.eml",  # SES complaint notification in JSON
    "sisimai/lhost-verizon-02.eml",  # from post_master@
    "sisimai/lhost-fml-02.eml",  # list robot: "You ... are not member"
    "sisimai/lhost-fml-03.eml",  # list robot: "Loop Alert: Duplicated Message-ID"
]


def test_automatic_mail_opens_no_ticket_and_gets_no_acknowledgement(bot: Bot) -> None:
    outcome, [ack] = bot.roundtrip(mail("Jo <jo@acme.example>", "Export fails",
                                        "The export fails for some users."))
    ref, ack_id = outcome.reference, str(ack["Message-ID"])
    about_ack = [
        corpus("sisimai/lhost-dragonfly-01.eml",
               **{"<66681288.e06d1.3824794@df.example.jp>": ack_id}),
        corpus("sisimai/lhost-amazonses-09.eml",
               **{'"commonHeaders":{': f'"commonHeaders":{{"messageId":"{ack_id}",'}),
        # a person forwards the Sendmail bounce of the acknowledgement, DSN fields and all
        corpus("sisimai/lhost-sendmail-14.eml",
               **{"<6D736808-04A1-47D3-92BD-44388ABFCCE4@example.jp>": ack_id}),
    ]
    for raw in about_ack + [corpus(n) for n in UNRELATED]:
        bot.send(raw)  # a non-null envelope sender, as a forwarding MTA may give
    outcomes = bot.process()
    assert len(outcomes) == len(about_ack) + len(UNRELATED)
    for o in outcomes:
        assert o.state == "ignored", o
    assert [o.reference for o in outcomes[:3]] == [ref, ref, ref]
    assert all(o.action.endswith("no ticket matched") for o in outcomes[3:]), outcomes
    assert bot.deliver() == []  # nothing answered
    assert [t.reference for t in bot.app.helpdesk.list()] == [ref]  # no new ticket
    recorded = [e.data for e in bot.app.helpdesk.show(ref or "").ticket.events
                if e.kind == EventKind.AUTO_REPLY_RECEIVED]
    assert [(d["kind"], d["recipients"]) for d in recorded] == [
        ("bounce", ["pseudo-local-part@google.example.com"]),
        ("bounce", ["bounce@simulator.amazonses.com"]),
        ("bounce", ["kijitora@example.com"]),
    ]
    assert "MAILER-DAEMON <>" in recorded[0]["reason"]
    assert "Amazon SES bounce notification" in recorded[1]["reason"]


@pytest.fixture
def config(tmp_path: Path, database: Database) -> Path:
    text = storage_toml(database) + (
        f'[mail]\nsupport_addresses = ["{SUPPORT}"]\n'
        '[[clients]]\nname = "acme"\nemail_domains = ["acme.example"]\n')
    path = tmp_path / "supportbot.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["sisimai/lhost-dragonfly-01.eml",
                                  "sisimai/lhost-amazonses-09.eml",
                                  "sisimai/lhost-apachejames-01.eml"])
def test_through_the_pipe_with_no_envelope_sender(
        capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path, name: str) -> None:
    path = tmp_path / "in.eml"
    path.write_bytes(corpus(name))
    code, out, _ = run_main(capsys, config, "ingest", str(path))
    assert code == 0 and "ignored" in out and "no ticket matched" in out, out
    code, out, _ = run_main(capsys, config, "tickets", "list", "--json")
    assert json.loads(out) == []
    code, out, _ = run_main(capsys, config, "outbox", "list", "--json")
    assert json.loads(out) == []
