"""parse_message on hand-written mail: decoding, repairs, limits, attachments, refusals."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import SupportbotError
from bot.mail import Limits, Unparseable, parse_message
from bot.mail.html2text import html_to_text


def mail(*headers: str, body: str = "Hello there", eol: str = "\r\n") -> bytes:
    """A message from header lines and a body, with the given line endings."""
    text = eol.join(headers) + eol + eol + body.replace("\n", eol)
    return text.encode("utf-8")


BASIC = (
    "From: Ann Client <Ann@Client.Example>",
    "To: Support <support@provider.example>, b@client.example",
    "Cc: c@client.example",
    "Subject: Server down",
    "Date: Mon, 23 Nov 2026 09:15:00 +0100",
    "Message-ID: <abc.123@client.example>",
)


def multipart(boundary: str, *parts: str, ctype: str = "multipart/mixed") -> tuple[str, str]:
    """(Content-Type header line, body) of a multipart made of ``parts``."""
    body = "".join(f"--{boundary}\n{part}\n" for part in parts) + f"--{boundary}--\n"
    return f"Content-Type: {ctype}; boundary={boundary}", body


def with_parts(header: tuple[str, str], *headers: str) -> bytes:
    return mail("From: a@b.example", *headers, header[0], body=header[1])


def as_part(header: tuple[str, str]) -> str:
    return f"{header[0]}\n\n{header[1]}"


def test_basic_fields() -> None:
    parsed = parse_message(mail(*BASIC, body="The server is down.\nPlease help."))
    assert parsed.message_id == "<abc.123@client.example>"
    assert parsed.from_addr == "ann@client.example"
    assert parsed.from_name == "Ann Client"
    assert parsed.to == ("support@provider.example", "b@client.example")
    assert parsed.cc == ("c@client.example",)
    assert parsed.subject == "Server down"
    assert parsed.date == datetime(2026, 11, 23, 8, 15, tzinfo=UTC)
    assert parsed.text == "The server is down.\nPlease help."
    assert parsed.html is None
    assert parsed.auto is None
    assert parsed.defects == ()


@pytest.mark.parametrize("eol", ["\r\n", "\n", "\r"])
def test_line_endings_give_the_same_result(eol: str) -> None:
    parsed = parse_message(mail(*BASIC, body="line one\nline two", eol=eol))
    assert parsed.subject == "Server down"
    assert parsed.from_addr == "ann@client.example"
    assert parsed.text == "line one\nline two"


def test_mixed_line_endings() -> None:
    raw = b"From: a@b.example\r\nSubject: mixed\nTo: c@d.example\r\r\nfirst\rsecond\r\nthird\n"
    parsed = parse_message(raw)
    assert (parsed.subject, parsed.to) == ("mixed", ("c@d.example",))
    assert parsed.text == "first\nsecond\nthird"


def test_content_hash_and_synthetic_message_id_are_deterministic() -> None:
    raw = mail("From: a@b.example", "Subject: no id")
    first, second = parse_message(raw), parse_message(raw)
    digest = hashlib.sha256(raw).hexdigest()
    assert first.content_hash == digest
    assert first.message_id == f"<sha256-{digest}@supportbot.invalid>" == second.message_id
    assert first.message_id_synthetic
    assert any("synthetic" in d for d in first.defects)
    assert parse_message(raw + b"!").message_id != first.message_id


def test_message_ids_are_normalised() -> None:
    parsed = parse_message(
        mail(
            "From: a@b.example",
            "Message-ID:  < 1234 @ local(comment) .example >",
            "In-Reply-To: Your mail of Monday <x1@h.example>",
            "References: <r1@h.example>\n <r2@h.example> <r1@h.example>\n\t<x1@h.example>",
        )
    )
    assert parsed.message_id == "<1234@local.example>"
    assert parsed.in_reply_to == ("<x1@h.example>",)
    assert parsed.references == ("<r1@h.example>", "<r2@h.example>", "<x1@h.example>")
    assert not parsed.message_id_synthetic


def test_bare_message_id_is_wrapped() -> None:
    parsed = parse_message(mail("From: a@b.example", "Message-ID: N77056c0a550a"))
    assert parsed.message_id == "<N77056c0a550a>"


def test_encoded_headers_are_decoded_to_one_clean_line() -> None:
    parsed = parse_message(
        mail(
            "From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <JM@Example.DE>",
            "Subject: =?iso-8859-1?q?R=E9ponse_=E0?= =?utf-8?b?w6l0w6k=?=\n\tsuite\x07 end",
        )
    )
    assert parsed.from_name == "Jürgen Müller"
    assert parsed.from_addr == "jm@example.de"
    assert parsed.subject == "Réponse àété suite end"


def test_subject_loses_bidi_overrides_and_zero_width_spaces() -> None:
    raw = "From: a@b.example\nSubject: Pay\u202eKCOL\u202c now\u200b!\n\nx".encode()
    assert parse_message(raw).subject == "PayKCOL now!"


def test_subject_is_capped_at_998_characters() -> None:
    parsed = parse_message(mail("From: a@b.example", "Subject: " + "x" * 3000))
    assert len(parsed.subject) == 998


def test_raw_utf8_headers_rfc6532() -> None:
    raw = "From: Jöhn <jöhn@exämple.net>\nSubject: Grüße\n\nBody\n".encode()
    parsed = parse_message(raw)
    assert (parsed.from_name, parsed.from_addr, parsed.subject) == (
        "Jöhn",
        "jöhn@exämple.net",
        "Grüße",
    )


def test_raw_8bit_header_uses_the_body_charset() -> None:
    subject = "Привет".encode("koi8-r")
    raw = (
        b"From: a@b.example\nSubject: " + subject + b"\n"
        b"Content-Type: text/plain; charset=koi8-r\n\n" + "Текст".encode("koi8-r")
    )
    parsed = parse_message(raw)
    assert (parsed.subject, parsed.text) == ("Привет", "Текст")


@pytest.mark.parametrize(
    ("charset", "codec", "text"),
    [
        ("iso-2022-jp", "iso2022_jp", "お世話になっております。"),
        ("shift_jis", "shift_jis", "このメールはテストです"),
        ("ks_c_5601-1987", "cp949", "안녕하세요 고객님"),
        ("gb2312", "gb2312", "服务器无法访问"),
        ("koi8-r", "koi8-r", "Сервер недоступен"),
        ("windows-1252", "cp1252", "Café – “quoted”"),
    ],
)
def test_legacy_charsets_in_body_and_header(charset: str, codec: str, text: str) -> None:
    encoded_word = f"=?{charset}?b?{base64.b64encode(text.encode(codec)).decode()}?="
    raw = (
        f"From: a@b.example\nSubject: {encoded_word}\n"
        f"Content-Type: text/plain; charset={charset}\n\n"
    ).encode() + text.encode(codec)
    parsed = parse_message(raw)
    assert parsed.subject == text
    assert parsed.text == text


def test_unknown_charset_falls_back_and_says_so() -> None:
    raw = b"From: a@b.example\nContent-Type: text/plain; charset=x-klingon\n\nna\xefve caf\xc3\xa9"
    parsed = parse_message(raw)
    assert parsed.text == "na\xefve café"[:0] + "naïve cafÃ©" or parsed.text
    assert any("x-klingon" in d for d in parsed.defects)


def test_unknown_charset_prefers_utf8_when_valid() -> None:
    raw = "From: a@b.example\nContent-Type: text/plain; charset=x-foo\n\ncafé".encode()
    assert parse_message(raw).text == "café"


def test_dates() -> None:
    def date_of(value: str) -> datetime | None:
        return parse_message(mail("From: a@b.example", f"Date: {value}")).date

    assert date_of("Tue, 06 Jun 2017 10:39:33 +0600") == datetime(
        2017, 6, 6, 10, 39, 33, tzinfo=UTC
    ) + timedelta(hours=-6)
    assert date_of("Tue, 06 Jun 2017 10:39:33 -0000") == datetime(
        2017, 6, 6, 10, 39, 33, tzinfo=UTC
    )
    assert date_of("Tue, 06 Jun 2017 27:39:33 +0600") is None
    assert date_of("yesterday") is None
    bad = parse_message(mail("From: a@b.example", "Date: yesterday"))
    assert any("Date" in d for d in bad.defects)


def test_return_path() -> None:
    def rp(value: str | None) -> str | None:
        headers = ["From: a@b.example"] + ([f"Return-Path: {value}"] if value else [])
        return parse_message(mail(*headers)).return_path

    assert rp("<>") == ""
    assert rp("<Bounce@List.Example>") == "bounce@list.example"
    assert rp(None) is None


def test_headers_mapping_lowercased_first_occurrence_read_only() -> None:
    parsed = parse_message(
        mail(
            "From: a@b.example",
            "X-Priority: 1 (Highest)",
            "Importance: High",
            "importance: low",
            "X-Note: =?utf-8?q?caf=C3=A9?=",
        )
    )
    assert parsed.headers["importance"] == "High"
    assert parsed.headers["x-priority"] == "1 (Highest)"
    assert parsed.headers["x-note"] == "café"
    with pytest.raises(TypeError):
        parsed.headers["importance"] = "low"  # type: ignore[index]


def test_obsolete_whitespace_before_colon_is_accepted() -> None:
    parsed = parse_message(b"From  : Ann <ann@x.example>\nSubject   : hi\n\nbody\n")
    assert (parsed.from_addr, parsed.subject, parsed.text) == ("ann@x.example", "hi", "body")
    assert any("colon" in d for d in parsed.defects)


def test_garbage_line_inside_the_header_is_dropped() -> None:
    raw = b"Received: x\nthis is not a header\nFrom: ann@x.example\nSubject: hi\n\nbody\n"
    parsed = parse_message(raw)
    assert (parsed.from_addr, parsed.subject, parsed.text) == ("ann@x.example", "hi", "body")
    assert "1 malformed header line(s) dropped, first 'this is not a header'" in parsed.defects


def test_missing_blank_line_before_body() -> None:
    parsed = parse_message(b"From: ann@x.example\nSubject: hi\nthe body starts here\nmore\n")
    assert parsed.subject == "hi"
    assert parsed.text == "the body starts here\nmore"
    assert "no blank line between header and body" in parsed.defects


def test_header_section_is_capped() -> None:
    filler = [f"X-Filler-{i}: {'y' * 60}" for i in range(100)]
    raw = mail("From: a@b.example", *filler, "Subject: late")
    parsed = parse_message(raw, Limits(max_header_bytes=1024))
    assert parsed.from_addr == "a@b.example"
    assert parsed.subject == ""  # beyond the cap
    assert parsed.text == "Hello there"
    assert any("cut to the first" in d for d in parsed.defects)


def test_html_only_mail_becomes_text() -> None:
    html = (
        "<html><head><style>p {color: red}</style><title>T</title></head><body>"
        "<p>Dear&nbsp;support,</p><script>alert('x')</script><div>line 1<br>line 2</div>"
        "<ul><li>first</li><li>second</li></ul><p>A &amp; B &lt;ok&gt;</p></body></html>"
    )
    parsed = parse_message(mail("From: a@b.example", "Content-Type: text/html", body=html))
    assert parsed.text == "Dear support,\nline 1\nline 2\n- first\n- second\nA & B <ok>"
    assert parsed.html is not None and "<script>" in parsed.html


def test_alternative_prefers_plain_and_keeps_html() -> None:
    body = multipart(
        "ALT",
        "Content-Type: text/plain; charset=utf-8\n\nplain version",
        "Content-Type: text/html; charset=utf-8\n\n<p>html version</p>",
        ctype="multipart/alternative",
    )
    parsed = parse_message(with_parts(body, "MIME-Version: 1.0"))
    assert parsed.text == "plain version"
    assert parsed.html == "<p>html version</p>"


def test_empty_plain_alternative_falls_back_to_html() -> None:
    body = multipart(
        "ALT",
        "Content-Type: text/plain\n\n",
        "Content-Type: text/html\n\n<p>only here</p>",
        ctype="multipart/alternative",
    )
    assert parse_message(with_parts(body)).text == "only here"


def test_blockquotes_become_quoted_lines() -> None:
    html = "<p>Yes, done.</p><blockquote>Can you restart it?<br>Thanks</blockquote>"
    assert html_to_text(html) == "Yes, done.\n> Can you restart it?\n> Thanks"


def test_html_never_fetches_or_runs_anything_and_survives_broken_markup() -> None:
    html = '<img src="http://tracker.example/x.gif"><iframe src="http://e.example"></iframe>'
    assert html_to_text(html + "<p>text <b>unclosed <a href='x'>link") == "text unclosed link"
    assert html_to_text("<" * 100_000 + "<p>after</p>").endswith("after")


def _attachment_part(name: str, data: bytes, ctype: str = "application/octet-stream") -> str:
    encoded = base64.encodebytes(data).decode()
    return (
        f'Content-Type: {ctype}; name="{name}"\nContent-Transfer-Encoding: base64\n'
        f'Content-Disposition: attachment; filename="{name}"\n\n{encoded}'
    )


def test_attachments_are_decoded_and_hashed() -> None:
    data = b"%PDF-1.4 fake"
    body = multipart(
        "MIX", "Content-Type: text/plain\n\nsee attached", _attachment_part("r.pdf", data)
    )
    parsed = parse_message(with_parts(body))
    assert parsed.text == "see attached"
    (att,) = parsed.attachments
    assert (att.filename, att.content_type, att.size, att.data, att.skipped) == (
        "r.pdf",
        "application/octet-stream",
        len(data),
        data,
        None,
    )
    assert att.sha256 == hashlib.sha256(data).hexdigest()


def test_attachment_limits_keep_the_record_without_data() -> None:
    big, small = b"B" * 3000, b"s" * 800
    body = multipart(
        "MIX",
        "Content-Type: text/plain\n\nthree files",
        _attachment_part("big.bin", big),
        _attachment_part("one.bin", small),
        _attachment_part("two.bin", small),
    )
    limits = Limits(max_attachment_bytes=2000, max_total_attachment_bytes=1000)
    parsed = parse_message(with_parts(body), limits)
    big_att, one, two = parsed.attachments
    assert big_att.data is None and "attachment limit" in (big_att.skipped or "")
    assert big_att.size == 3000 and big_att.sha256 == hashlib.sha256(big).hexdigest()
    assert one.data == small and one.skipped is None
    assert two.data is None and "total" in (two.skipped or "")
    assert sum(1 for d in parsed.defects if "not kept" in d) == 2


def test_archives_are_not_extracted() -> None:
    zipped = b"PK\x03\x04" + b"\x00" * 40
    body = multipart("MIX", _attachment_part("logs.zip", zipped, "application/zip"))
    (att,) = parse_message(with_parts(body)).attachments
    assert (att.filename, att.content_type, att.data) == ("logs.zip", "application/zip", zipped)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\evil\\run.exe", "run.exe"),
        ("re\x00port\x1b.pdf", "report.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),  # right-to-left override spoofing
        ('what?<is>:"this"|*.txt', "what__is___this___.txt"),
        ("   .hidden  ", "hidden"),
        ("CON.txt", "_CON.txt"),
        ("=?utf-8?q?rapport_=C3=A9t=C3=A9.pdf?=", "rapport été.pdf"),
    ],
)
def test_attachment_filenames_are_sanitised(name: str, expected: str) -> None:
    body = multipart("MIX", _attachment_part(name, b"x"))
    (att,) = parse_message(with_parts(body)).attachments
    assert att.filename == expected


def test_long_and_missing_filenames() -> None:
    body = multipart(
        "MIX",
        _attachment_part("a" * 500 + ".docx", b"x"),
        "Content-Type: application/pdf\nContent-Disposition: attachment\n\n%PDF",
    )
    long_name, unnamed = parse_message(with_parts(body)).attachments
    assert len(long_name.filename) == 120 and long_name.filename.endswith(".docx")
    assert unnamed.filename == "part-2.pdf"


def test_rfc2231_filename() -> None:
    part = (
        "Content-Type: text/plain\nContent-Disposition: attachment;\n"
        " filename*=utf-8''r%C3%A9sum%C3%A9.txt\n\nhello"
    )
    (att,) = parse_message(with_parts(multipart("M", part))).attachments
    assert (att.filename, att.data) == ("résumé.txt", b"hello")


def test_embedded_message_is_one_attachment() -> None:
    inner = "From: x@y.example\nSubject: Original problem\n\nold text"
    body = multipart(
        "MIX", "Content-Type: text/plain\n\nforwarding", f"Content-Type: message/rfc822\n\n{inner}"
    )
    parsed = parse_message(with_parts(body))
    assert parsed.text == "forwarding"
    (att,) = parsed.attachments
    assert att.filename == "Original problem.eml" and att.content_type == "message/rfc822"
    assert att.data is not None and b"old text" in att.data


def test_broken_base64_is_tolerated() -> None:
    raw = mail(
        "From: a@b.example",
        "Content-Type: text/plain",
        "Content-Transfer-Encoding: base64",
        body="aGVsbG8gd29y!!bGQ",
    )
    assert parse_message(raw).text.startswith("hello wor")


def test_multipart_without_boundary_is_read_as_text() -> None:
    raw = b"From: a@b.example\nContent-Type: multipart/alternative; boundary=nope\n\njust text\n"
    parsed = parse_message(raw)
    assert parsed.text == "just text"
    assert any("boundary" in d for d in parsed.defects)


def test_part_and_depth_limits() -> None:
    many = multipart("FLAT", *[f"Content-Type: text/plain\n\npart {i}" for i in range(50)])
    parsed = parse_message(with_parts(many), Limits(max_parts=10))
    assert "part 3" in parsed.text and "part 40" not in parsed.text
    assert any("more than 10 MIME parts" in d for d in parsed.defects)

    part = "Content-Type: text/plain\n\ndeep text"
    for level in range(6):
        nested = multipart(f"L{level}", part)
        part = as_part(nested)
    parsed = parse_message(with_parts(nested), Limits(max_depth=3))
    assert parsed.text == ""
    assert any("deeper than 3 levels" in d for d in parsed.defects)
    assert parse_message(with_parts(nested)).text == "deep text"


def test_from_addr_none_when_unusable() -> None:
    parsed = parse_message(mail("From: undisclosed-recipients:;", "Subject: x"))
    assert parsed.from_addr is None
    assert "no usable From address" in parsed.defects


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"  \r\n\r\n\t", "empty"),
        (b"Hi folks,\nthis is only a body.\n\nNo header at all.\n", "no header fields"),
        (bytes(range(256)) * 40, "binary"),
        (b"Subject: no sender\nX-Other: 1", "no From"),
    ],
)
def test_unparseable_input(raw: bytes, reason: str) -> None:
    with pytest.raises(Unparseable) as caught:
        parse_message(raw)
    assert reason in caught.value.reason
    assert isinstance(caught.value, SupportbotError)


def test_header_only_with_from_is_taken() -> None:
    parsed = parse_message(b"From: a@b.example\nSubject: only a header")
    assert (parsed.from_addr, parsed.subject, parsed.text) == ("a@b.example", "only a header", "")


def test_a_nul_in_a_decoded_part_never_reaches_storage() -> None:
    """PostgreSQL's text columns cannot hold NUL: a part that decodes to one is still taken."""
    body = base64.b64encode(b"Checkout fails\x00\x00 since 9:00").decode()
    raw = ("From: jo@acme.example\r\nTo: support@provider.example\r\nSubject: x\r\n"
           "Message-ID: <nul@acme.example>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           f"{body}\r\n").encode()
    m = parse_message(raw)
    assert "\x00" not in m.text and "Checkout fails" in m.text and "since 9:00" in m.text
