"""Decoding helpers: charsets (with legacy aliases), RFC 2047 words, one-line cleaning."""

from __future__ import annotations

import binascii
import codecs
import re
import unicodedata
from email.header import decode_header

CHARSET_ALIASES = {
    "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "ks_c_5601-1989": "cp949",
    "ksc5601": "cp949", "euc-kr": "cp949", "euckr": "cp949", "korean": "cp949",
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "euc-cn": "gb18030",
    "chinese": "gb18030", "cp936": "gb18030",
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932",
    "ms_kanji": "cp932", "windows-31j": "cp932",
    "iso-2022-jp": "iso2022_jp_ext", "csiso2022jp": "iso2022_jp_ext",
    "big5": "big5hkscs", "x-big5": "big5hkscs",
    "windows-874": "cp874", "tis-620": "cp874", "iso-8859-11": "cp874",
    "iso-8859-8-i": "iso-8859-8", "iso-8859-6-i": "iso-8859-6",
    "iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "ascii",
    "ansi_x3.4-1968": "ascii", "unicode-1-1-utf-7": "utf-7", "utf8": "utf-8",
    "x-mac-roman": "mac_roman", "macintosh": "mac_roman", "cp-850": "cp850",
}  # fmt: skip
"""Labels mail software uses, mapped to the Python codec that decodes them best."""

UNSAFE_CODECS = frozenset(
    {"undefined", "unicode-escape", "raw-unicode-escape", "idna", "punycode", "mbcs", "oem"}
)
"""Text codecs that a charset label must never select."""

FALLBACK_CODECS = ("utf-8", "cp1252", "latin-1")
"""Tried in turn for undeclared or unknown charsets; latin-1 never fails."""

ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
CONTROL_CHARS = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]"
)
"""Control characters, zero-width space, bidi overrides and marks: never shown in one line."""
WHITESPACE = re.compile(r"\s+")
SURROGATE_ESCAPE = re.compile("[\udc80-\udcff]")
"""What the parser makes of raw 8-bit header bytes (``surrogateescape``)."""


def codec_for(charset: str | None) -> str | None:
    """The Python codec for a charset label, or None when unknown or unsafe."""
    if not charset:
        return None
    label = charset.strip().strip("\"'").lower().split("*", 1)[0]
    label = CHARSET_ALIASES.get(label, label)
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError):
        return None
    if info.name in UNSAFE_CODECS or not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


def decode_bytes(data: bytes, charset: str | None = None) -> tuple[str, str | None]:
    """Decode ``data`` as ``charset``; returns the text and a note when it had to guess."""
    codec = codec_for(charset)
    if codec is not None:
        try:
            return data.decode(codec), None
        except (UnicodeError, LookupError):
            pass
        if codec != "utf-8":
            try:
                return data.decode("utf-8"), f"labelled {charset} but was UTF-8"
            except UnicodeError:
                pass
        return data.decode(codec, "replace"), f"invalid bytes for charset {charset} replaced"
    note = f"unknown charset {charset!r}" if charset else None
    for name in FALLBACK_CODECS:
        try:
            return data.decode(name), note
        except UnicodeError:
            continue
    return data.decode("latin-1", "replace"), note  # pragma: no cover - latin-1 never fails


def unescape_surrogates(value: str, hint: str | None = None) -> str:
    """Turn the surrogate escapes of raw 8-bit header bytes into text: UTF-8 (RFC 6532) if
    valid, else the ``hint`` charset (the body's, as mail readers do), else cp1252."""
    if not SURROGATE_ESCAPE.search(value):
        return value
    data = value.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.reason == "unexpected end of data" and error.end == len(data):
            return data[: error.start].decode("utf-8", "replace")  # a value cut mid-character
    codec = codec_for(hint)
    if codec is not None and codec not in ("ascii", "utf-8"):
        try:
            return data.decode(codec)
        except UnicodeError:
            pass
    return decode_bytes(data)[0]


def _word_bytes(charset: str, encoding: str, payload: str) -> bytes | None:
    word = f"=?{charset}?{encoding}?{payload}?="
    try:
        parts = decode_header(word)
        if len(parts) == 1 and isinstance(parts[0][0], bytes):
            return parts[0][0]
    except (ValueError, binascii.Error, UnicodeError, AssertionError):
        pass
    try:  # lenient fallback: fix base64 padding, decode Q by hand
        if encoding.lower() == "b":
            clean = re.sub(r"[^A-Za-z0-9+/]", "", payload)
            return binascii.a2b_base64(clean + "=" * (-len(clean) % 4))
        return binascii.a2b_qp(payload.encode("ascii", "replace"), header=True)
    except (binascii.Error, ValueError):
        return None


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words anywhere in ``value``; adjacent words of one charset are
    joined before decoding (mailers split multibyte characters across words)."""
    if "=?" not in value:
        return value
    out: list[str] = []
    pending: list[bytes] = []
    pending_charset = ""
    pos = 0

    def flush() -> None:
        nonlocal pending_charset
        if pending:
            out.append(decode_bytes(b"".join(pending), pending_charset)[0])
            pending.clear()
        pending_charset = ""

    for match in ENCODED_WORD.finditer(value):
        between = value[pos : match.start()]
        charset, encoding, payload = match.groups()
        data = _word_bytes(charset.split("*", 1)[0], encoding, payload)
        if data is None:
            flush()
            out.append(between + match.group(0))
            pos = match.end()
            continue
        if between.strip() or pos == 0:
            flush()
            out.append(between)
        if pending and charset.lower() != pending_charset.lower():
            flush()
        pending.append(data)
        pending_charset = charset
        pos = match.end()
    flush()
    out.append(value[pos:])
    return "".join(out)


def one_line(value: str, cap: int | None = None) -> str:
    """Unfold, drop control and invisible characters, collapse whitespace, cap the length."""
    text = CONTROL_CHARS.sub("", value.replace("\t", " ").replace("\r", " ").replace("\n", " "))
    text = unicodedata.normalize("NFC", WHITESPACE.sub(" ", text).strip())
    return text[:cap] if cap is not None else text


def header_text(raw: str | None, cap: int | None = None, hint: str | None = None) -> str:
    """A raw header value (surrogate-escaped 8-bit, RFC 2047 words, folded) as one clean line;
    ``hint`` is the charset to try for raw 8-bit bytes that are not UTF-8."""
    if raw is None:
        return ""
    unfolded = re.sub(r"\r?\n(?=[ \t])", "", unescape_surrogates(str(raw), hint))
    return one_line(decode_words(unfolded), cap)
