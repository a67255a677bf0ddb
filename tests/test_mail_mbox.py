"""Telling an mbox (several messages behind ``From `` postmark lines) from one message."""

from __future__ import annotations

from bot.mail.mbox import split_mbox

ONE = (b"From: jo@acme.example\nSubject: Export fails\n\nThe export fails.\n\n"
       b"From what I can see it started on Monday.\n")


def _msg(n: int, eol: bytes = b"\n") -> bytes:
    lines = [f"From jo{n}@acme.example Mon Nov 30 1{n}:00:00 2026",  # and a blank line after:
             f"From: jo{n}@acme.example", f"Subject: report {n}", "", f"Body {n}.", "", ""]
    return eol.join(line.encode() for line in lines)


def test_several_postmarked_messages_are_split_byte_for_byte() -> None:
    messages = [_msg(1), _msg(2), _msg(3)]
    assert split_mbox(b"".join(messages)) == messages


def test_an_mbox_with_crlf_line_ends_is_split_too() -> None:
    messages = [_msg(1, b"\r\n"), _msg(2, b"\r\n")]
    assert split_mbox(b"".join(messages)) == messages


def test_one_message_stays_one() -> None:
    assert split_mbox(ONE) == [ONE]
    assert split_mbox(b"") == [b""]
    # Postfix's pipe puts a postmark before the one message it delivers
    single = b"From jo@acme.example Mon Nov 30 10:00:00 2026\n" + ONE
    assert split_mbox(single) == [single]


def test_postmark_lines_in_a_body_do_not_split_it() -> None:
    # a body that quotes a postmark, not after a blank line or not followed by a header
    body = (b"From jo@acme.example Mon Nov 30 10:00:00 2026\nFrom: jo@acme.example\n"
            b"Subject: see below\n\nThe log said:\n"
            b"From bob@acme.example Mon Nov 30 09:00:00 2026\nFrom: bob@acme.example\n\n"
            b"and then:\n\nFrom bob@acme.example Mon Nov 30 09:00:00 2026\nnothing more\n\n"
            b"From Monday 10:00 on, nothing works.\n")
    assert split_mbox(body) == [body]
    # and a message that does not start with a postmark is one message, whatever it quotes
    pasted = ONE + b"\n" + _msg(2)
    assert split_mbox(pasted) == [pasted]
