"""The new part of a reply: quoted history, reply headers and signatures removed (EN/NL/FR/DE,
and ES/IT/PT/SV/DA/NB/PL/CS attributions, header blocks and mobile signatures).

Quoted blocks introduced by an attribution ("On ... wrote:") are removed wherever they are, so
inline and bottom-posted answers survive; unquoted history (Outlook header blocks, "Original
Message" markers, an attribution not followed by ``>`` lines) ends the reply. Forwarded
messages introduced by a forward marker are content, not history, and are kept.

Kept over the libraries (issue 15), measured by ``bench/text_bench.py``: replies whose new text
is all kept and whose history is all cut (and, where known, exactly the expected reply), on the
corpus's 25 English reply chains, 21 replies written in 10 languages (in-sample: the rules for
ES/IT/PT/SV/DA/PL were added after they showed these misses) and 12 more in 12 languages
written before those rules and kept out of the tests (same author, so only loosely held out):

==================  =======  =======  ========  ==========
stripper            corpus   written  held out  ms/reply
==================  =======  =======  ========  ==========
this, before        25/25    16/21    6/12      0.02
this, now           25/25    21/21    12/12     0.02
mail-parser-reply   17/25    13/21    6/12      0.17-0.27
email-reply-parser  23/25    5/21     3/12      0.01-0.03
quotequail          12/25    10/21    4/12      0.08-0.19
==================  =======  =======  ========  ==========

On mail-parser-reply's own test mails in SV/DA/NL/PL/JA that carry history (9, labelled from
its tests' assertions; measured once, not stored here, in-sample for that library): this 9/9
(8/9 before a header block at the very top was taken for content, not history),
mail-parser-reply 9/9, email-reply-parser 8/9, quotequail 2/9.

mail-parser-reply (13 languages) keeps signatures ("Sent from my iPhone", Sparrow's), misses
attributions split over lines and a ``>``-quoted attribution, takes inline answers for history
and cuts forwarded messages; email-reply-parser knows English only; quotequail cuts at the first
quote and keeps Outlook header blocks. What they showed missing here was added instead: the
attribution verbs, header labels, "Original Message" and forward markers and mobile signatures
of ES/IT/PT/SV/DA/NB/PL/CS; a header block now needs a date line, so that "Da: ... / A: ..."
prose in Italian is not taken for one.
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
    r"^.{0,300}(\b(wrote|schreef|schrieb|a\s+[ée]crit|escribi[óo]|ha scritto|escreveu|skrev"
    r"|napisał(a|\(a\))?|napsal(a)?|написал[а]?)"
    r"|@\S+|\d{1,2}:\d{2})\s*:\s*$",
    re.I,
)
"""Lines that introduce history only when ``>`` lines follow ("Ann <a@x> wrote:")."""

QUOTE_LINE = re.compile(r"^[ \t]{0,3}>")
ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(original message|oorspronkelijk bericht|origineel bericht"
    r"|message d'origine|message original|urspr[üu]ngliche nachricht|original-nachricht"
    r"|mensaje original|messaggio originale|mensagem original|ursprungligt meddelande"
    r"|oprindelig meddelelse|opprinnelig melding|wiadomość oryginalna|původní zpráva)\s*-{2,}\s*$",
    re.I,
)
FORWARD_MARKER = re.compile(
    r"^\s*-*\s*(-+ ?forwarded message ?-+|begin forwarded message:|forwarded message:"
    r"|-+ ?(doorgestuurd bericht|message transf[ée]r[ée]|weitergeleitete nachricht"
    r"|forwarded message|mensaje reenviado|messaggio inoltrato|mensagem encaminhada"
    r"|vidarebefordrat meddelande|videresendt (meddelelse|melding)|wiadomość przekazana"
    r"|přeposlaná zpráva) ?-+)\s*$",
    re.I,
)
FROM_LABEL = re.compile(r"^\s*\*?\s*(from|van|de|von|da|fra|från|od)\s*:\s*\*?\s*\S", re.I)
DATE_LABELS = (
    r"sent|verzonden|envoy[ée]|gesendet|date|datum|enviado( el)?|fecha|inviato|data|sendt"
    r"|skickat|wysłano|odesláno"
)
HEADER_LABEL = re.compile(
    rf"^\s*\*?\s*({DATE_LABELS}|to|aan|[àa]|an|cc|bcc|para|til|till|do|komu|dw|kopia"
    r"|subject|onderwerp|objet|betreff|betreft|asunto|oggetto|assunto|emne|ämne|temat|předmět"
    r"|reply-to)\s*:\s*\*?",
    re.I,
)
DATE_LABEL = re.compile(rf"^\s*\*?\s*({DATE_LABELS})\s*:", re.I)
"""A header block has a date line; without one, "Da: ... / A: ..." lines may be prose."""
SEPARATOR = re.compile(r"^\s*(_{8,}|-{8,})\s*$")
"""A rule left above the history (an HTML part's ``<hr>`` comes out as 8 dashes)."""
UNDERSCORE_SEPARATOR = re.compile(r"^\s*_{20,}\s*$")
SIGNATURE = re.compile(r"^--\s*$")
MOBILE_SIGNATURE = re.compile(
    r"^\s*(sent from my|sent from |sent with |get outlook for|envoy[ée] (de|depuis) mon"
    r"|verzonden (vanaf|met) |verstuurd (vanaf|met) |von meinem .* gesendet|gesendet (von|mit) "
    r"|enviado (desde|do|de) (mi|meu|o meu) |inviato da |skickat från |sendt fra "
    r"|wysłane z (mojego|iphone|telefonu)|odesláno z )",
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
    labels = [ln for ln in following if HEADER_LABEL.match(ln)]
    return len(labels) >= 2 and any(DATE_LABEL.match(ln) for ln in labels)


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
        if (
            _header_block(lines, i)
            and any(ln.strip() for ln in kept)  # a header block at the top is pasted content
            and not _after_forward_marker(kept)
        ):
            break
        kept.append(line)
        i += 1
    return _trim(kept) or text.strip()
