"""parse_message and detect_auto over the shared real-world corpus (165 messages).

Every file parses (or is refused as Unparseable) quickly; every bounce and automatic reply is
detected; mail people wrote is not, apart from the list and bulk mail named below.
"""

from __future__ import annotations

import csv
import hashlib
import re
from functools import cache
from pathlib import Path

import pytest

from bot.mail import ParsedMail, Unparseable, parse_message
from tests.conftest import missing_peer

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"

HEADERLESS_BODIES = {
    f"email-reply-parser/{name}"
    for name in (
        "email_1_2.txt", "email_1_3.txt", "email_1_8.txt", "email_2_1.txt", "email_2_3.txt",
        "email_gmail.txt", "email_headers_no_delimiter.txt", "email_partial_quote_header.txt",
    )
}  # fmt: skip
"""Bodies only (no header at all): refused as Unparseable, by design."""

PERSON_CATEGORIES = {"plain", "reply-chain", "html", "charset", "attachment", "multipart"}
AUTOMATIC_CATEGORIES = {"bounce", "autoreply"}

LIST_AND_BULK = {
    "flanker/apache-message-news-mime.eml": "bulk",  # mailing-list post, Precedence: bulk
    "flanker/message-external-body.eml": "bulk",  # mailing-list post, Precedence: bulk
    "flanker/from-encoding.eml": "bulk",  # new-httpd list post, Precedence: bulk
    "spamscope-mail-parser/mail_test_6": "list",  # newsletter: List-Id, List-Unsubscribe
    "spamscope-mail-parser/mail_test_13": "list",  # Mailchimp newsletter: List-Id
    "spamscope-mail-parser/mail_test_5": "list",  # newsletter: List-Unsubscribe
    "spamscope-mail-parser/mail_test_16": "bulk",  # GTUBE spam test, Precedence: junk
    "ruby-mail/error_emails__bad_date_header.eml": "bulk",  # spam, Precedence: junk
}
"""Person-category files that really are list or bulk mail (read by hand): never answered,
but neither bounces nor auto-replies."""

AUTOMATIC_MALFORMED = {
    "flanker/bounce__delayed-broken.eml": "bounce",  # a bare message/delivery-status
    "flanker/bounce__broken-mime.eml": "bounce",  # postmaster, "Delivery failed 10 attempts"
}
"""Files the manifest calls malformed that are bounces all the same."""


def manifest() -> list[tuple[str, str]]:
    path = CORPUS / "MANIFEST.tsv"
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as f:
        return [(row["file"], row["category"]) for row in csv.DictReader(f, delimiter="\t")]


FILES = manifest()


def ids(category: set[str]) -> list[str]:
    return [name for name, cat in FILES if cat in category]


@pytest.fixture(autouse=True)
def _corpus_present() -> None:
    if not FILES:
        missing_peer(f"the shared mail corpus is not at {CORPUS}")


@cache
def parsed(name: str) -> ParsedMail:
    return parse_message((CORPUS / name).read_bytes())


def test_corpus_is_complete() -> None:
    assert len(FILES) == 165
    assert all((CORPUS / name).is_file() for name, _ in FILES)


@pytest.mark.parametrize("name", [name for name, _ in FILES])
def test_every_file_parses_with_sane_fields(name: str) -> None:
    raw = (CORPUS / name).read_bytes()
    try:
        mail = parse_message(raw)
    except Unparseable as refused:
        assert name in HEADERLESS_BODIES, f"{name} refused: {refused.reason}"
        return
    assert name not in HEADERLESS_BODIES
    assert re.fullmatch(r"<[^<>\s]+>", mail.message_id)
    assert mail.content_hash == hashlib.sha256(raw).hexdigest()
    assert len(mail.subject) <= 998 and "\n" not in mail.subject
    assert not re.search(r"[\x00-\x1f\x7f]", mail.subject)
    assert mail.from_addr is None or mail.from_addr == mail.from_addr.lower()
    assert mail.date is None or mail.date.tzinfo is not None
    assert all(k == k.lower() for k in mail.headers)
    assert len(mail.attachments) <= 200
    for att in mail.attachments:
        assert att.filename and len(att.filename) <= 120
        assert not re.search(r"[/\\\x00-\x1f]", att.filename)
        assert (att.data is None) == (att.skipped is not None)


@pytest.mark.parametrize("name", ids(AUTOMATIC_CATEGORIES))
def test_bounces_and_auto_replies_are_detected(name: str) -> None:
    auto = parsed(name).auto
    assert auto is not None, f"{name} not detected"
    assert auto.kind in ("bounce", "auto-reply"), f"{name}: {auto}"


PERSON_WRITTEN = [n for n in ids(PERSON_CATEGORIES) if n not in HEADERLESS_BODIES]


@pytest.mark.parametrize("name", PERSON_WRITTEN + sorted(AUTOMATIC_MALFORMED))
def test_mail_people_wrote_is_not_automatic(name: str) -> None:
    auto = parsed(name).auto
    expected = LIST_AND_BULK.get(name) or AUTOMATIC_MALFORMED.get(name)
    assert (auto.kind if auto else None) == expected, f"{name}: {auto}"


def test_postmaster_person_is_not_a_robot() -> None:
    mail = parsed("flanker/long-links.eml")  # "Bob <postmaster@example.com>", plain HTML mail
    assert mail.from_addr == "postmaster@example.com" and mail.auto is None


def test_abuse_complaint_and_read_receipt() -> None:
    complaint = parsed("flanker/complaints__aol.eml").auto
    assert complaint is not None and complaint.kind == "bounce"
    assert "feedback report" in complaint.reason
    assert complaint.original_message_id == "<20101117174130.28884.55421@luna>"
    receipt = parsed("flanker/disposition-notification.eml").auto
    assert receipt is not None and receipt.kind == "auto-reply"
    assert "read receipt" in receipt.reason


BOUNCES = {
    # DSNs (RFC 3464)
    "flufl-bounce/dsn_01.txt": (
        "<F1218V8zDv60gxapzha000001ae@hotmail.com>", ("jimmymcegypt@go.com",)),
    "flufl-bounce/dsn_10.txt": (
        "<200210211625.12753.b.a.dude@example.com>", ("anne.person@dom.ain",)),
    "flufl-bounce/dsn_15.txt": (  # a DSN wrapped in another message
        "<mailman.4360.1149475419.1567.gpc-talk@grizz.org>", ("horu@ccc-ces.com",)),
    "flufl-bounce/simple_13.txt": (  # returned headers inside message/delivery-status
        "<mailman.2481.1142340481.1567.gpc-talk@grizz.org>", ("dycusibreix@ademe.fr",)),
    "flufl-bounce/netscape_01.txt": (
        "<392C2D67.C072CDA8@yahoo.com>", ("aaaaa@corel.com", "bbbbb@corel.com")),
    "flanker/bounce__office365.eml": (
        "<20171013111011.20866.254C2F3A4D7AA526@ninomail.com>", ("noname@example.com",)),
    # non-standard bounces
    "flufl-bounce/qmail_01.txt": (
        "<11A17AA2B9EAD111BCEA00A0C9B4179303385B62@molach.origin.ea.com>",
        ("psadisc@wwwmail.n-h.de",)),
    "flufl-bounce/qmail_02.txt": (
        "<mailman.6305.1139745768.1568.gpc-talk@grizz.org>", ("rauschlo@frontfin.com",)),
    "flufl-bounce/exim_01.txt": (
        "<19990920022322.A19735@stereo.rotzorg.org>", ("delangen@its.tudelft.nl",)),
    "flufl-bounce/postfix_01.txt": ("<p04330122b60007b33216@[17.216.27.250]>", ("xxxxx@local.ie",)),
    "flufl-bounce/microsoft_01.txt": (
        "<5.1.1.5.2.20021004224506.00bd9ff8@mail.chello.se>", ("djbennett@ikon.com",)),
    "flufl-bounce/groupwise_02.txt": (  # HTML-only Exchange notice
        "<15661.57857.753290.942668@anthem.wooz.org>", ("omarmo@thebas.com",)),
    "flufl-bounce/llnl_01.txt": (  # original quoted with ">"
        "<mailman.990998285.30333.clpa-moderators@python.org>", ("trotts1@llnl.gov",)),
    "flufl-bounce/newmailru_01.txt": ("<3A2FEB05.5E9531C4@san.rr.com>", ("zzzzz@newmail.ru",)),
    "flufl-bounce/smtp32_01.txt": ("<B6ED1A51.CD1E%bootc@worldnet.fr>", ("oliver@pcworld.com.ph",)),
    "flufl-bounce/sina_01.txt": (
        "<F128rzvsTDWWcuZcGwM00012d40@hotmail.com>", ("boboman76@sina.com", "alan_t18@sina.com")),
    "flufl-bounce/yahoo_01.txt": (None, ("subscribe.motorcycles@listsociety.com",)),
    "flufl-bounce/microsoft_03.txt": (None, ("midica@banknbr.com",)),
    "flanker/bounce__gmail-invalid-address.eml": (
        "<CAKsfaBUUGqVZiaMrmH3TRPfq1odQPtM7Ey5YW1SgyJJRHtAjgw@mail.gmail.com>",
        ("awfawfawfawfawfaw@someserverhere.com",)),
}  # fmt: skip
"""Original Message-ID and failed recipients, read from each file by hand."""


@pytest.mark.parametrize("name", sorted(BOUNCES))
def test_bounce_names_the_message_that_bounced(name: str) -> None:
    auto = parsed(name).auto
    assert auto is not None and auto.kind == "bounce"
    original, recipients = BOUNCES[name]
    assert auto.original_message_id == original
    assert auto.original_recipients == recipients
    assert auto.original_message_id != parsed(name).message_id


@pytest.mark.parametrize(
    ("name", "delayed"),
    [
        ("flufl-bounce/dsn_17.txt", True),
        ("flanker/bounce__no-mx.eml", True),
        ("ruby-mail/multipart_report_emails__report_422.eml", True),
        ("flufl-bounce/dsn_10.txt", False),
        ("flanker/bounce__delayed.eml", False),  # "Cannot send message for 5 days": final
    ],
)
def test_delay_warnings(name: str, delayed: bool) -> None:
    auto = parsed(name).auto
    assert auto is not None and auto.delayed is delayed


CHARSET_SPOT_CHECKS = [
    ("ruby-mail/multi_charset__japanese_iso_2022.eml", "subject", "まみむめも"),
    ("ruby-mail/multi_charset__japanese_iso_2022.eml", "text", "すみません。"),
    ("ruby-mail/multi_charset__japanese_shift_jis.eml", "text", "テスト用のメールです。"),
    ("ruby-mail/multi_charset__ks_c_5601-1987.eml", "text", "스티해"),
    ("ruby-mail/plain_emails__raw_email.eml", "subject", "NOTE: 한국말로 하는 것"),
    ("ruby-mail/plain_emails__raw_email.eml", "text", "제 이름은 Jamis입니다."),
    ("ruby-mail/rfc2822__example14.eml", "subject", "Re: TEST テストテスト"),
    ("ruby-mail/rfc6532__utf8_headers.eml", "subject", "Säying Hello"),
    ("ruby-mail/rfc6532__utf8_headers.eml", "from_addr", "jdöe@mächine.example"),
    ("ruby-mail/error_emails__invalid_subject_characters.eml", "subject", "Formação FrenetikPolis"),
    ("flanker/bilingual-simple.eml", "subject", "Как ты поживаешь?"),
    ("flanker/bilingual-simple.eml", "text", "А эта линия по-русски."),
    ("flanker/from-encoding.eml", "from_name", "Ingo Lütkebohle"),
    ("flanker/8bitmime.eml", "text", "Превел"),
    ("spamscope-mail-parser/mail_test_12", "subject", "代开各地增值税发票"),
    ("spamscope-mail-parser/mail_test_12", "from_name", "张先生"),
    ("flufl-bounce/newmailru_01.txt", "text", "Это сообщение создано автоматически"),  # koi8-r
    ("flufl-bounce/sina_01.txt", "subject", "邮件传输失败"),  # raw gb2312 header bytes
    ("ruby-mail/attachment_emails__attachment_pdf.eml", "subject", "Another PDF with 🎉"),
]


@pytest.mark.parametrize(("name", "field", "expected"), CHARSET_SPOT_CHECKS)
def test_charsets_decode_to_the_expected_text(name: str, field: str, expected: str) -> None:
    assert expected in (getattr(parsed(name), field) or "")


@pytest.mark.parametrize(
    ("name", "filename"),
    [
        ("ruby-mail/attachment_emails__attachment_nonascii_filename.eml", "ciële.txt"),
        ("ruby-mail/multi_charset__japanese_attachment_long_name.eml", "かきくけこ" * 5 + ".txt"),
        (
            "ruby-mail/attachment_emails__attachment_with_base64_encoded_name.eml",
            "This is a test.pdf",
        ),
        ("flanker/attached-pdf.eml", "test.pdf"),
        ("flanker/bz2-attachment.eml", "foo.txt.bz2"),  # archives are kept whole
    ],
)
def test_attachment_names(name: str, filename: str) -> None:
    assert filename in [a.filename for a in parsed(name).attachments]


def test_nesting_bomb_is_bounded() -> None:
    raw = (CORPUS / "flanker/enclosed-endless.eml").read_bytes()
    mail = parse_message(raw)  # bounded by the part cap, not by a stopwatch
    assert raw.count(b"Content-Type:") > 3000
    assert any("more than 200 MIME parts" in d for d in mail.defects)
    assert mail.from_addr == "example@example.net"
    assert mail.text == "Hello"
    (enclosed,) = mail.attachments
    assert enclosed.filename == "thanks.eml" and enclosed.content_type == "message/rfc822"


def test_huge_header_is_capped_and_the_mail_still_parsed() -> None:
    mail = parsed("flanker/long-header.eml")
    assert any(re.search(r"header section of \d{6} bytes cut", d) for d in mail.defects)
    assert mail.from_addr == "bob@example.com" and mail.to == ("helen@example.com",)
    assert mail.subject.startswith("Die heiße Zypernsonne quälte Max und Victoria")
    assert len(mail.subject) == 998
    assert mail.text == "test"


@pytest.mark.parametrize(
    ("name", "from_addr", "text_start", "defect"),
    [
        ("ruby-mail/plain_emails__raw_email_incorrect_header.eml", "xxx@xxx.xxx",
         "You are infected with:", "malformed header line(s) dropped"),
        ("ruby-mail/rfc2822__example13.eml", "jdoe@machine.example",
         "This is a message just to say hello.", "whitespace before a header colon"),
        ("cpython/msg_35.txt", "aperson@dom.ain",
         "counter to RFC 5322, there's no separating newline here",
         "no blank line between header and body"),
        ("flanker/false-multipart.eml", "broken.mime@notreallymultipart.com", "",
         "multipart boundary never found"),
    ],
)  # fmt: skip
def test_malformed_mail_is_repaired(
    name: str, from_addr: str, text_start: str, defect: str
) -> None:
    mail = parsed(name)
    assert mail.from_addr == from_addr
    assert mail.text.startswith(text_start)
    assert any(defect in d for d in mail.defects), mail.defects
