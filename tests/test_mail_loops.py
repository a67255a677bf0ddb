"""Automatic mail detection (RFC 3834 rules), one hand-written message per rule and its negation."""

from __future__ import annotations

from email import message_from_bytes

import pytest

from bot.mail import AutoReply, detect_auto, parse_message
from bot.mail.mime import SAFE_POLICY


def auto_of(*headers: str, body: str = "Hello, I need help with the portal.") -> AutoReply | None:
    defaults = {"from": "From: Ann <ann@client.example>", "subject": "Subject: Portal question"}
    names = {h.split(":", 1)[0].strip().lower() for h in headers}
    lines = [v for k, v in defaults.items() if k not in names] + list(headers)
    raw = ("\n".join([*lines, "Message-ID: <m1@client.example>"]) + "\n\n" + body).encode()
    return parse_message(raw).auto


def kind_of(*headers: str, body: str = "Hello, I need help with the portal.") -> str | None:
    found = auto_of(*headers, body=body)
    return found.kind if found else None


def test_person_written_mail_is_not_automatic() -> None:
    assert auto_of() is None


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("Auto-Submitted: auto-replied", "auto-reply"),
        ("Auto-Submitted: auto-generated", "auto-reply"),
        ("Auto-Submitted: auto-notified (vacation)", "auto-reply"),
        ("Auto-Submitted: no", None),
        ("Auto-Submitted: No (sent by a person)", None),
    ],
)
def test_auto_submitted(header: str, kind: str | None) -> None:
    assert kind_of(header) == kind


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("Return-Path: <>", "auto-reply"),
        ("Return-Path: <MAILER-DAEMON@mx.example>", "bounce"),
        ("Return-Path: <postmaster@mx.example>", "auto-reply"),
        ("Return-Path: <ann@client.example>", None),
        ("From: Mail Delivery System <MAILER-DAEMON@mx.example>", "bounce"),
        ("From: Mailer_Daemon@mx.example", "bounce"),
    ],
)
def test_null_and_daemon_senders(header: str, kind: str | None) -> None:
    assert kind_of(header) == kind


def test_postmaster_sender_alone_is_not_proof() -> None:
    assert kind_of("From: Bob <postmaster@client.example>") is None
    assert kind_of("From: postmaster@mx.example", "Subject: Undeliverable Mail") == "bounce"


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("Precedence: bulk", "bulk"),
        ("Precedence: junk", "bulk"),
        ("Precedence: list", "list"),
        ("Precedence: first-class", None),
        ("List-Id: Users <users.lists.example>", "list"),
        ("List-Unsubscribe: <mailto:leave@lists.example>", "list"),
        ("X-Autoreply: yes", "auto-reply"),
        ("X-Autorespond: Out of office", "auto-reply"),
        ("X-Autoreply: no", None),
        ("X-MS-Exchange-Inbox-Rules-Loop: ann@client.example", "auto-reply"),
        ("X-Failed-Recipients: gone@client.example", "bounce"),
    ],
)
def test_header_rules(header: str, kind: str | None) -> None:
    assert kind_of(header) == kind


def test_auto_response_suppress_alone_is_not_proof() -> None:
    assert kind_of("X-Auto-Response-Suppress: All") is None
    assert kind_of("X-Auto-Response-Suppress: DR, OOF, AutoReply") is None
    # ... but it corroborates another weak sign
    assert kind_of("X-Auto-Response-Suppress: All", "Subject: Out of office") == "auto-reply"


@pytest.mark.parametrize(
    "subject",
    [
        "Automatic reply: Portal question",
        "Auto-Reply: Portal question",
        "Autosvar: Portal question",
        "Automatische Antwort: Portal question",
        "Réponse automatique : Portal question",
        "Automatisch antwoord: Portal question",
        "Out of Office: Portal question",
        "Out of Office AutoReply: Portal question",
    ],
)
def test_auto_reply_subjects(subject: str) -> None:
    assert kind_of(f"Subject: {subject}") == "auto-reply"


@pytest.mark.parametrize(
    "subject",
    [
        "Undeliverable: Portal question",
        "Undelivered Mail Returned to Sender",
        "Delivery Status Notification (Failure)",
        "Mail delivery failed: returning message to sender",
        "Returned mail: see transcript for details",
        "failure notice",
        "Unzustellbar: Portal question",
        "Onbestelbaar: Portal question",
    ],
)
def test_bounce_subjects(subject: str) -> None:
    assert kind_of(f"Subject: {subject}") == "bounce"


@pytest.mark.parametrize(
    "subject",
    [
        "Re: Undeliverable: Portal question",
        "Fwd: Undelivered Mail Returned to Sender",
        "Mail delivery failed for our whole domain since 9:00",
        "Out of office hours support contract",
        "Auto: lease contract question",
        "Afwezig",
        "Delivery failure of the new release",
    ],
)
def test_subjects_a_person_may_write(subject: str) -> None:
    assert kind_of(f"Subject: {subject}") is None


def test_forwarded_bounce_from_a_person_is_not_automatic() -> None:
    body = (
        "Hi, why does this bounce?\n\n---------- Forwarded message ---------\n"
        "This is the mail system at host mx.provider.example.\n\n"
        "I'm sorry to have to inform you that your message could not be delivered to one or "
        "more recipients.\n"
    )
    assert kind_of("Subject: Fwd: Undelivered Mail Returned to Sender", body=body) is None


def test_non_standard_bounce_needs_two_weak_signs() -> None:
    body = (
        "Hi. This is the qmail-send program at mx.example.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n\n"
        "<gone@client.example>:\nSorry, no mailbox here by that name.\n\n"
        "--- Below this line is a copy of the message.\n\n"
        "Message-ID: <T-1042.reply@provider.example>\nSubject: Your ticket\n\nold text\n"
    )
    assert kind_of(body=body) is None  # phrase alone: could be quoted by a person
    found = auto_of("Subject: Delivery problem", body=body)
    assert found is not None and found.kind == "bounce"
    assert found.original_message_id == "<T-1042.reply@provider.example>"
    assert found.original_recipients == ("gone@client.example",)


DSN = """From: Mail Delivery System <MAILER-DAEMON@mx.example>
To: support@provider.example
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn-1@mx.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

I'm sorry to have to inform you that your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example

Original-Recipient: rfc822;Gone@Client.Example
Final-Recipient: rfc822; gone-alias@client.example
Action: {action}
Status: {status}

--B
Content-Type: message/rfc822

From: support@provider.example
To: gone@client.example
Subject: [T-1042] Your ticket
Message-ID: <ack-1042@provider.example>

We received your request.

--B--
"""


def test_dsn_bounce_names_the_original_message_and_recipient() -> None:
    found = parse_message(DSN.format(action="failed", status="5.1.1").encode()).auto
    assert found is not None
    assert found.kind == "bounce"
    assert "delivery status" in found.reason
    assert found.original_message_id == "<ack-1042@provider.example>"
    assert found.original_recipients == ("gone@client.example",)
    assert not found.delayed


def test_dsn_delay_is_marked_delayed() -> None:
    found = parse_message(DSN.format(action="delayed", status="4.4.7").encode()).auto
    assert found is not None and found.kind == "bounce" and found.delayed


def test_read_receipt_is_an_auto_reply() -> None:
    raw = DSN.replace("delivery-status", "disposition-notification").format(
        action="x", status="y"
    )
    raw = raw.replace("MAILER-DAEMON@mx.example", "ann@client.example").replace(
        "Undelivered Mail Returned to Sender", "Read: Your ticket"
    )
    found = parse_message(raw.encode()).auto
    assert found is not None and found.kind == "auto-reply"
    assert "disposition" in found.reason


def test_bounce_never_names_itself_as_the_original() -> None:
    body = "Mail delivery failed.\nMessage-ID: <self@mx.example>\n"
    found = auto_of(
        "From: MAILER-DAEMON@mx.example", "Message-ID: <self@mx.example>", body=body
    )
    assert found is not None and found.original_message_id is None


def test_detect_auto_works_on_a_message_object() -> None:
    msg = message_from_bytes(
        b"From: ann@client.example\nAuto-Submitted: auto-replied\nSubject: x\n\nAway",
        policy=SAFE_POLICY,
    )
    found = detect_auto(msg)
    assert found is not None and found.kind == "auto-reply"
    assert found.is_bounce_or_reply
    plain = message_from_bytes(b"From: ann@client.example\nSubject: x\n\nHi", policy=SAFE_POLICY)
    assert detect_auto(plain) is None
