"""Ticket reference tokens in subjects and Message-ID thread keys."""

from __future__ import annotations

import pytest

from bot.mail import parse_message, reference_tokens, thread_keys


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: [T-1042] Server down", ("T-1042",)),
        ("RE: [t-1042] server down", ("T-1042",)),
        ("[T-1042] and [T-1043], again [T-1042]", ("T-1042", "T-1043")),
        ("[T-01042] leading zero", ("T-1042",)),
        ("T-1042 without brackets", ()),
        ("(T-1042) other brackets", ()),
        ("[T-1042a] not digits only", ()),
        ("[T-42] below the first reference", ()),
        ("[T-] nothing", ()),
        ("", ()),
    ],
)
def test_reference_tokens(subject: str, expected: tuple[str, ...]) -> None:
    assert reference_tokens(subject) == expected


def test_thread_keys_in_reply_to_first_then_references_deduplicated() -> None:
    raw = (
        b"From: ann@client.example\nIn-Reply-To: <b@x>\n"
        b"References: <root@x> <a@x> <b@x> <root@x>\n\nHi"
    )
    assert thread_keys(parse_message(raw)) == ("<b@x>", "<root@x>", "<a@x>")


def test_thread_keys_are_capped_keeping_root_and_latest() -> None:
    refs = " ".join(f"<r{i}@x>" for i in range(80))
    raw = f"From: ann@client.example\nIn-Reply-To: <r79@x>\nReferences: {refs}\n\nHi".encode()
    keys = thread_keys(parse_message(raw))
    assert len(keys) == 50
    assert keys[0] == "<r79@x>"  # what the mail answers
    assert keys[1] == "<r0@x>"  # the thread root
    assert keys[2:] == tuple(f"<r{i}@x>" for i in range(31, 79))  # the latest 48


def test_no_thread_keys_for_a_new_mail() -> None:
    assert thread_keys(parse_message(b"From: ann@client.example\nSubject: new\n\nHi")) == ()


def test_references_are_capped_keeping_root_and_latest() -> None:
    refs = " ".join(f"<r{i}@x>" for i in range(150))
    parsed = parse_message(f"From: ann@client.example\nReferences: {refs}\n\nHi".encode())
    assert len(parsed.references) == 100
    assert parsed.references[0] == "<r0@x>" and parsed.references[1] == "<r51@x>"
    assert parsed.references[-1] == "<r149@x>"
