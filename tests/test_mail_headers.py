"""Address lists: the regular-expression fast path reads the common shapes exactly as the
stdlib's structured parser (``email.headerregistry``) does, and leaves every other shape to it."""

from __future__ import annotations

import re
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path

import pytest

from bot.mail.decode import unescape_surrogates
from bot.mail.headers import address_list, clean_pairs, plain_pairs, structured_pairs
from tests.conftest import missing_peer

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
ADDRESS_HEADERS = ("from", "to", "cc", "reply-to", "sender")

COMMON = [
    "jo@acme.example",
    "<jo@acme.example>",
    "Jo Peeters <Jo.Peeters@Acme.Example>",
    "Jo   Peeters\t<jo@acme.example>",
    "Jo<jo@acme.example>",
    "J. Smith <j@acme.example>",
    "Jo.. <a@acme.example>",
    '"Peeters, Jo" <jo@acme.example>',
    '"" <jo@acme.example>',
    "Jö Peeters <jo@acme.example>",
    "=?utf-8?q?J=C3=B6?= Peeters <jo@acme.example>",
    "=?utf-8?q?J=C3=B6?=  =?utf-8?q?_P?= <jo@acme.example>",
    "=?iso-8859-1?q?Andr=E9?= Pirard <pirard@acme.example>",
    "jo@acme.example, An <an@globex.example>,",
    "O'Brien <o'brien+tag@acme.example>",
]
OTHER = [
    "undisclosed-recipients:;",
    "Team: jo@acme.example, an@acme.example;",
    "jo@acme.example (Jo Peeters)",
    '"Jo \\"the boss\\" P" <jo@acme.example>',
    '"=?utf-8?q?J=C3=B6?=" <jo@acme.example>',
    "x=?utf-8?q?a?= <jo@acme.example>",
    ".Jo <jo@acme.example>",
    ", jo@acme.example",
    "jo@acme.example,,an@acme.example",
    "jo@[192.0.2.1]",
    "<@relay.example:jo@acme.example>",
    "jö@acme.example",
    "Jo Peeters jo@acme.example",
]


@pytest.mark.parametrize("value", COMMON)
def test_common_shapes_take_the_fast_path_with_the_stdlib_result(value: str) -> None:
    fast = plain_pairs(value)
    assert fast is not None
    assert clean_pairs(fast, 100) == clean_pairs(structured_pairs(value, "to"), 100)


@pytest.mark.parametrize("value", OTHER)
def test_other_shapes_are_left_to_the_structured_parser(value: str) -> None:
    assert plain_pairs(value) is None


def test_fast_path_results() -> None:
    assert address_list("Jo Peeters <Jo.Peeters@Acme.Example>", "from", 5) == [
        ("Jo Peeters", "jo.peeters@acme.example")]
    assert address_list("=?utf-8?q?J=C3=B6?=  =?utf-8?q?_P?= <jo@acme.example>", "from", 5) == [
        ("Jö P", "jo@acme.example")]
    assert address_list('"Peeters, Jo" <jo@a.example>, an@b.example, c@d.example', "to", 2) == [
        ("Peeters, Jo", "jo@a.example"), ("", "an@b.example")]
    assert address_list("Team: jo@a.example, an@b.example;", "to", 5) == [
        ("", "jo@a.example"), ("", "an@b.example")]


def test_adjacent_encoded_words_join_as_rfc_2047_says() -> None:
    """Whitespace between adjacent encoded words is not text (RFC 2047 §6.2); the structured
    parser keeps some of it, the fast path does not (ruby-mail's bad_subject sample)."""
    value = ("=?UTF-8?B?TXlTdXJ2ZXk=?= =?UTF-8?B?LmNvbSAmIEM=?= =?UTF-8?B?YXJvbCBBZGE=?= "
             "=?UTF-8?B?bXM=?= <carol@mysurvey.com>")
    assert address_list(value, "from", 1) == [("MySurvey.com & Carol Adams", "carol@mysurvey.com")]


def test_the_corpus_reads_the_same_through_either_path() -> None:
    """Every address header of the shared corpus that the fast path takes gives what the
    structured parser gives (apart from the RFC 2047 case above)."""
    if not CORPUS.is_dir():
        missing_peer(f"the shared corpus at {CORPUS}")
    fast = 0
    for path in sorted(CORPUS.rglob("*")):
        if not path.is_file() or path.suffix in (".tsv", ".md"):
            continue
        header = BytesHeaderParser(policy=compat32).parsebytes(path.read_bytes())
        for name in ADDRESS_HEADERS:
            for value in header.get_all(name, []) or []:
                text = re.sub(r"\r?\n", "", unescape_surrogates(str(value)))
                pairs = plain_pairs(text)
                if pairs is None or "=?UTF-8?B?TXlTdXJ2ZXk=?=" in text:
                    continue
                fast += 1
                assert clean_pairs(pairs, 100) == clean_pairs(structured_pairs(text, name), 100), (
                    path, text)
    assert fast > 200
