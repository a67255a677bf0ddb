"""Automatic mail of the kinds issue 17 found opening tickets, each from the public corpus in
``tests/corpus_auto`` (what it is taken for, and the reason a person reads), and the mail a
person writes that looks like it in one respect only, which must stay a person's mail."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.mail import AutoReply, parse_message

CORPUS = Path(__file__).resolve().parent / "corpus_auto"


def auto(name: str) -> AutoReply:
    found = parse_message((CORPUS / name).read_bytes()).auto
    assert found is not None, f"{name} taken for a person's mail"
    return found


@pytest.mark.parametrize(
    ("name", "kind", "reason"),
    [
        ("sisimai/arf-01.eml", "bounce", "abuse complaint (feedback report)"),
        ("sisimai/arf-22.eml", "bounce", "abuse complaint subject 'complaint about message"),
        ("sisimai/lhost-amazonses-09.eml", "bounce", "Amazon SES bounce notification (SNS)"),
        ("sisimai/lhost-amazonses-11.eml", "bounce", "Amazon SES complaint notification (SNS)"),
        ("sisimai/lhost-amazonses-12.eml", "auto-reply",
         "Amazon SES delivery notification (SNS)"),
        ("sisimai/lhost-dragonfly-01.eml", "bounce",
         "sent by a mail daemon with no address (MAILER-DAEMON <>)"),
        ("sisimai/lhost-verizon-02.eml", "bounce", "sent by post_master@vtext.com"),
        ("sisimai/lhost-apachejames-01.eml", "bounce", "sent by post_master@"),
        ("sisimai/lhost-fml-02.eml", "auto-reply", "list robot subject 'You sironeko@"),
        ("sisimai/lhost-fml-03.eml", "auto-reply",
         "list robot subject 'Loop Alert: Duplicated Message-ID"),
        ("sisimai/lhost-sendmail-14.eml", "bounce", "delivery status fields in the text"),
        ("sisimai/lhost-kddi-01.eml", "bounce", "robot sender no-reply@"),
        ("flufl-bounce/bounce_01.txt", "bounce", "null From address"),
        ("bounceparser/warning-6.msg", "auto-reply", "auto-reply subject 'AUTO: Smith, John is"),
        ("bounceparser/polish-autoreply.msg", "auto-reply",
         "auto-reply subject '[Automatyczna odpowiedź]"),
        ("bounceparser/bluebottle.msg", "auto-reply", "challenge-response text"),
        ("flufl-bounce/dumbass_01.txt", "bounce", "mail could not be delivered"),
    ],
)
def test_each_kind_is_automatic_with_a_readable_reason(name: str, kind: str, reason: str) -> None:
    found = auto(name)
    assert found.is_bounce_or_reply
    assert found.kind == kind, found
    assert reason.lower() in found.reason.lower(), found.reason


def test_ses_notification_names_the_bounced_recipient() -> None:
    found = auto("sisimai/lhost-amazonses-09.eml")
    assert found.original_recipients == ("bounce@simulator.amazonses.com",)
    assert not found.delayed


def test_forwarded_dsn_names_the_failed_recipient_not_a_message_id() -> None:
    found = auto("sisimai/lhost-sendmail-14.eml")
    assert found.original_recipients == ("kijitora@example.com",)


def test_forwarded_dsn_names_the_returned_message_not_the_forwarded_bounce() -> None:
    # the forward's References point at the bounce it forwards; the returned message is later
    found = auto("sisimai/lhost-sendmail-14.eml")
    assert found.original_message_id == "<6D736808-04A1-47D3-92BD-44388ABFCCE4@example.jp>"


def test_dragonfly_bounce_names_the_returned_message() -> None:
    found = auto("sisimai/lhost-dragonfly-01.eml")
    assert found.original_message_id == "<66681288.e06d1.3824794@df.example.jp>"
    assert found.original_recipients == ("pseudo-local-part@google.example.com",)


def mail(sender: str, subject: str, body: str, *headers: str) -> AutoReply | None:
    raw = "\n".join([f"From: {sender}", "To: support@provider.example", f"Subject: {subject}",
                     "Message-ID: <p1@client.example>", *headers]) + "\n\n" + body
    return parse_message(raw.encode()).auto


SES_JSON = ('{"notificationType":"Bounce","bounce":{"bouncedRecipients":'
            '[{"emailAddress":"gone@client.example"}]}}')


@pytest.mark.parametrize(
    ("sender", "subject", "body"),
    [
        # one weak sign each: a person (or a tool a person reads) wrote these
        ("IT admin <it-admin@client.example>", "Portal down", "Nobody can log in since 9:00."),
        ("Portal <noreply@portal.client.example>", "Password reset requested", "Click here."),
        ("Bob <postmaster@client.example>", "Our MX moved", "New MX is mx2.client.example."),
        ("Ann <ann@client.example>", "Bounces from your newsletter", "We get these:\n"
         + SES_JSON),  # SES JSON pasted by a person: not from Amazon's notifier
        ("Ann <ann@client.example>", "Mail problem", "Our log says Status: 5.1.1 for jo."),
        ("Ann <ann@client.example>", "complaint about message from our CEO", "Please call."),
        ("Ann <ann@client.example>", "Why are we not members of the beta?", "Please add us."),
        ("Ann <ann@client.example>", "Mail delivery warning in the portal", "A banner says so."),
        ("Ann <ann@client.example>", "AUTO: the lease contract", "Is it out of the office?"),
        # a bounce-like subject and one more thing a person writes: still a person
        ("IT <it-admin@client.example>", "Mail delivery failed for our whole domain",
         "Since 9:00 nothing gets out."),
        ("Ann <ann@client.example>", "Mail error when sending invoices",
         "Outlook says: 550 Requested action not taken: mailbox unavailable"),
        ("Ann <ann@client.example>", "Delivery failure of the invoice run",
         "The run has been postponed due to the holidays."),
        ("Ann <ann@client.example>", "[Auto] renewal", "Please renew our licence."),
    ],
)
def test_mail_a_person_writes_is_not_automatic(sender: str, subject: str, body: str) -> None:
    assert mail(sender, subject, body) is None


def test_ses_json_from_amazon_is_a_bounce_even_without_the_sns_header() -> None:
    found = mail("AWS <no-reply@sns.amazonaws.com>", "AWS Notification Message", SES_JSON)
    assert found is not None and found.kind == "bounce"
    assert found.original_recipients == ("gone@client.example",)


def test_sns_mail_of_another_kind_is_automatic_by_two_weak_signs() -> None:
    found = mail("AWS <no-reply@sns.amazonaws.com>", "ALARM: disk full", "Alarm details...",
                 "x-amz-sns-message-id: 5b1c")
    assert found is not None and found.kind == "auto-reply"
    assert "sent through Amazon SNS" in found.reason


def test_address_less_daemon_from_is_a_bounce() -> None:
    found = mail("Mail Delivery Subsystem <MAILER-DAEMON>", "Returned", "See below.")
    assert found is not None and found.kind == "bounce"
