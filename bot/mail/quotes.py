"""The new part of a reply: quoted history, reply headers and signatures removed (EN/NL/FR/DE).

Quoted blocks introduced by an attribution ("On ... wrote:") are removed wherever they are, so
inline and bottom-posted answers survive; unquoted history (Outlook header blocks, "Original
Message" markers, an attribution not followed by ``>`` lines) ends the reply. Forwarded
messages introduced by a forward marker are content, not history, and are kept.
"""

from __future__ import annotations

import re

ATTRIBUTION_STRONG = re.compile(
    r"^[-\s]*(on\b(?=.*\d).{0,400}\bwrote"  # EN: On Tue, 1 Mar 2011, Ann <a@x> wrote:
    r"|op\b(?=.*\d).{0,400}\bschreef\b.{0,200}"  # NL: Op 3 jan. 2024 om 10:00 schreef Jan:
    r"|le\b(?=.*\d).{0,400}\ba\s+[ée]crit"  # FR: Le 3 janv. 2024 à 10:00, Jean a écrit :
    r"|am\b(?=.*\d).{0,400}\bschrieb\b.{0,200}"  # DE: Am 03.01.2024 um 10:00 schrieb Hans:
    r")\s*:\s*$",
    re.I,
)
"""Attributions that always introduce history, quoted or not."""

ATTRIBUTION_WEAK = re.compile(
    r"^.{0,300}(\b(wrote|schreef|schrieb|a\s+[ée]crit|escribi[óo]|ha scritto|написал[а]?)"
    r"|@\S+|\d{1,2}:\d{2})\s*:\s*$",
    re.I,
)
"""Lines that introduce history only when ``>`` lines follow ("Ann <a@x> wrote:")."""

QUOTE_LINE = re.compile(r"^[ \t]{0,3}>")
ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(original message|oorspronkelijk bericht|origineel bericht"
    r"|message d'origine|message original|urspr[üu]ngliche nachricht|original-nachricht"
    r"|mensaje original|messaggio originale)\s*-{2,}\s*$",
    re.I,
)
FORWARD_MARKER = re.compile(
    r"^\s*-*\s*(-+ ?forwarded message ?-+|begin forwarded message:|forwarded message:"
    r"|-+ ?(doorgestuurd bericht|message transf[ée]r[ée]|weitergeleitete nachricht"
    r"|forwarded message) ?-+)\s*$",
    re.I,
)
FROM_LABEL = re.compile(r"^\s*\*?\s*(from|van|de|von)\s*:\s*\*?\s*\S", re.I)
HEADER_LABEL = re.compile(
    r"^\s*\*?\s*(sent|verzonden|envoy[ée]|gesendet|date|datum|to|aan|[àa]|an|cc|bcc"
    r"|subject|onderwerp|objet|betreff|betreft|reply-to)\s*:\s*\*?",
    re.I,
)
SEPARATOR = re.compile(r"^\s*(_{8,}|-{8,})\s*$")
"""A rule left above the history (an HTML part's ``<hr>`` comes out as 8 dashes)."""
UNDERSCORE_SEPARATOR = re.compile(r"^\s*_{20,}\s*$")
SIGNATURE = re.compile(r"^--\s*$")
MOBILE_SIGNATURE = re.compile(
    r"^\s*(sent from my|sent from |sent with |get outlook for|envoy[ée] (de|depuis) mon"
    r"|verzonden (vanaf|met) |verstuurd (vanaf|met) |von meinem .* gesendet|gesendet (von|mit) )",
    re.I,
)
HEADER_BLOCK_LINES = 7
ATTRIBUTION_LINES = 3
WRAPPED_MIN = 30
"""A line shorter than this is not the first part of an attribution the mailer wrapped."""


def _next_content(lines: list[str], start: int) -> int | None:
    for i in range(start, len(lines)):
        if lines[i].strip():
            return i
    return None


def _attribution(lines: list[str], i: int) -> tuple[int, bool] | None:
    """``(lines spanned, strong)`` when an attribution starts at line ``i``."""
    for span in range(1, ATTRIBUTION_LINES + 1):
        chunk = lines[i : i + span]
        if len(chunk) < span or any(not ln.strip() or QUOTE_LINE.match(ln) for ln in chunk):
            return None
        if any(len(ln.strip()) < WRAPPED_MIN for ln in chunk[:-1]):
            return None  # "Hi," above an attribution is not part of it
        joined = " ".join(ln.strip() for ln in chunk)
        if len(joined) > 600:
            return None
        if ATTRIBUTION_STRONG.match(joined):
            return span, True
        if ATTRIBUTION_WEAK.match(joined):
            return span, False
    return None


def _header_block(lines: list[str], i: int) -> bool:
    """An Outlook-style "From: / Sent: / To: / Subject:" block starts at line ``i``."""
    if not FROM_LABEL.match(lines[i]):
        return False
    following = lines[i + 1 : i + HEADER_BLOCK_LINES]
    return sum(1 for ln in following if HEADER_LABEL.match(ln)) >= 2


def _after_forward_marker(kept: list[str]) -> bool:
    recent = [ln for ln in kept[-4:] if ln.strip()]
    return any(FORWARD_MARKER.match(ln) for ln in recent[-2:])


def _trim(kept: list[str]) -> str:
    while kept and (not kept[-1].strip() or SEPARATOR.match(kept[-1])):
        kept.pop()
    while kept and MOBILE_SIGNATURE.match(kept[-1]):
        kept.pop()
        while kept and not kept[-1].strip():
            kept.pop()
    text = "\n".join(line.rstrip() for line in kept).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", text)


def strip_quoted(text: str) -> str:
    """The reply without quoted history and signature; never empty when ``text`` is not."""
    if not text or not text.strip():
        return ""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if QUOTE_LINE.match(line):
            i += 1
            continue
        found = _attribution(lines, i)
        if found is not None:
            span, strong = found
            nxt = _next_content(lines, i + span)
            if nxt is not None and QUOTE_LINE.match(lines[nxt]):
                i = nxt
                continue
            if strong:
                break
        if ORIGINAL_MESSAGE.match(line) or UNDERSCORE_SEPARATOR.match(line):
            break
        if SIGNATURE.match(line):
            break
        if _header_block(lines, i) and not _after_forward_marker(kept):
            break
        kept.append(line)
        i += 1
    return _trim(kept) or text.strip()
