"""Mail the bot writes, built without ``email.headerregistry``: what the stdlib parser reads back
from the bytes is what ``EmailMessage`` under ``email.policy.SMTP`` would have produced, header
fields are encoded (RFC 2047) and folded, and nothing from the input can add a header."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default

import pytest

from bot.mail import compose

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SENDER = "support@panenco.example"
SUBJECTS = [
    "[T-1042] Re: Production down",
    "[T-1042] Re: Lenteur de l'application très lente",
    "[T-7] Re: Ошибка при экспорте PDF — срочно",
    "[T-7] Re: 導出失敗 ＰＤＦ エラー",
    "[T-8] Re: " + "word " * 40 + "end",
    "[T-8] Re: " + "é" * 150,
    "[T-9] Re: looks =?utf-8?q?encoded?= but is not",
    "[T-9] Re: a-very-long-token-" + "x" * 120,
    "[T-10] Re: emoji 🔥 in the middle and Ünïcödé at the end",
]
BODIES = [
    "Short ASCII text.\n",
    "Ligne en français: très lente.\n\nCordialement\n",
    "A long line " + "y" * 100 + "\nand a short one, été\n",
    "Trailing spaces   \n.\nA dot line above; tabs\there\n",
]


def build(subject: str, body: str, **kw: object) -> bytes:
    args: dict = {"in_reply_to": "<abc@acme.example>",
                  "references": ["<root@acme.example>", "<abc@acme.example>"], "at": AT}
    args.update(kw)
    return compose._text_mail(SENDER, "jo@acme.example", subject, "<ack.1@panenco.example>",
                              body, **args)


def reference(subject: str, body: str) -> EmailMessage:
    m = compose.base_message(SENDER, "jo@acme.example", subject, "<ack.1@panenco.example>",
                             in_reply_to="<abc@acme.example>",
                             references=["<root@acme.example>", "<abc@acme.example>"], at=AT)
    m.set_content(body)
    return m


def read(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=default)  # type: ignore[return-value]


@pytest.mark.parametrize("subject", SUBJECTS)
@pytest.mark.parametrize("body", BODIES)
def test_reads_back_as_the_email_message_path_would(subject: str, body: str) -> None:
    raw = build(subject, body)
    got, want = read(raw), read(reference(subject, body).as_bytes())
    assert [k for k, _ in got.items()] == [k for k, _ in want.items()]
    names = ["From", "To", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
             "Auto-Submitted", "X-Auto-Response-Suppress", "Content-Type"]
    if "=?" in subject:  # the EmailMessage path leaves it as is: readers then decode it
        assert str(want["Subject"]) != subject
        names.remove("Subject")
    for name in names:
        assert str(got[name]) == str(want[name]), name
    assert str(got["Subject"]) == subject
    assert got["Content-Transfer-Encoding"] == want["Content-Transfer-Encoding"]
    assert got.get_content() == want.get_content()
    assert got.get_content().replace("\r\n", "\n") == body
    head, _, _ = raw.partition(b"\r\n\r\n")
    assert head.isascii() and b"\n" not in head.replace(b"\r\n", b"")
    for line in head.split(b"\r\n"):
        assert len(line) <= compose.LINE_MAX or b" " not in line.strip(), line
        assert not line.startswith(b" ") or line.strip()


def test_readable_words_stay_readable() -> None:
    raw = build("[T-1042] Re: Lenteur de l'application très lente", "x\n")
    assert b"Subject: [T-1042] Re: Lenteur de l'application =?utf-8?q?tr=C3=A8s?= lente\r\n" in raw
    assert b"\r\nContent-Transfer-Encoding: 7bit\r\n" in raw


def test_input_cannot_add_header_fields() -> None:
    subject = compose.subject_with_reference("T-1", "Re: hi\r\nBcc: victim@evil.example\nX: y")
    raw = build(subject, "x\n")
    parsed = read(raw)
    assert parsed["Bcc"] is None and parsed["X"] is None
    assert str(parsed["Subject"]) == "[T-1] Re: hi Bcc: victim@evil.example X: y"
    # a raw CR or LF that reaches the builder is still no line break
    parsed = read(build("a\r\nBcc: victim@evil.example", "x\n"))
    assert parsed["Bcc"] is None


def test_unsafe_addresses_never_reach_a_hand_built_header() -> None:
    with pytest.raises(ValueError):
        compose._text_mail(SENDER, "jo@acme.example\r\nBcc: x@evil.example", "s",
                           "<ack.1@panenco.example>", "x\n", in_reply_to=None, references=[],
                           at=AT)
    raw = build("s", "x\n", in_reply_to="<bad id>", references=["<ok@a.example>", "bad\r\nX: 1"])
    parsed = read(raw)
    assert parsed["In-Reply-To"] is None and str(parsed["References"]) == "<ok@a.example>"
    assert parsed["X"] is None


def test_long_references_are_folded() -> None:
    refs = [f"<message-{i}-{'z' * 30}@acme.example>" for i in range(20)]
    raw = build("s", "x\n", references=refs)
    parsed = read(raw)
    assert str(parsed["References"]).split() == refs
    head = raw.partition(b"\r\n\r\n")[0]
    assert max(len(line) for line in head.split(b"\r\n")) <= compose.LINE_MAX


def test_no_auto_submitted_for_mail_a_person_wrote() -> None:
    parsed = read(build("s", "x\n", auto=None))
    assert parsed["Auto-Submitted"] is None and parsed["X-Auto-Response-Suppress"] is None
