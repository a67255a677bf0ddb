"""Pleasantries: "thanks!", "ok", "👍", a greeting, emoji only, in English, Dutch, French,
German and a few more. They are kept on a ticket as messages but never open one, reopen one,
or count as the client's answer (the Slack and mail intakes ask ``is_pleasantry``).

A message is a pleasantry when, once emoji (Unicode or ``:shortcode:``), mentions and
punctuation are set aside, it is short and every word is a courtesy word, with at least one
that carries the courtesy ("thanks for the quick reply" is; "thanks, but it still fails" is
not). "yes" and "no" are never pleasantries: they answer questions.
"""

from __future__ import annotations

import re
import unicodedata

MAX_WORDS = 8
MAX_CHARS = 120


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


COURTESY = _words("""
thanks thank thx tnx thks ty tyvm cheers ta ok okay okey oke oké okidoki k kk alright noted
good great perfect cool nice awesome excellent brilliant lovely super top fine fab fantastic
received understood ack acknowledged gotcha sweet wonderful splendid appreciated
hi hello hey hiya morning afternoon evening
merci parfait génial genial entendu reçu recu compris bonjour salut coucou
bedankt dank dankjewel dankuwel dankje bedankt prima oké goed helder begrepen ontvangen
hoi hallo goedemorgen goedemiddag
danke dankeschön dankeschon vielen super klasse alles klar perfekt verstanden
gracias grazie obrigado obrigada perfetto perfecto vale
""")
"""Words that carry the courtesy."""

FILLER = _words("""
a so much very many lots lot of you u all again for the your that this it its it's that's
thats is was sounds looks well works working quick fast help reply response answer info
update work fix fixed solved sorted support effort
team guys folks everyone everybody got will do done now appreciate really indeed
and as always just kind
beaucoup bien mille fois pour votre ta ton l'aide aide tout c'est d'accord
je wel hartelijk voor de het jullie heel erg zeer alvast allemaal
schön sehr für die
best regards kind warm greetings sincerely br mvg gr groeten groet vriendelijke met
cordialement salutations bien à vous grüße gruß grüßen mit freundlichen beste
muchas mil molte tante
""")
"""Words that may go with them ("thanks a lot for the quick reply")."""

_SHORTCODE = re.compile(r":[a-z0-9_+'\-]+:")
_MENTION = re.compile(r"<[@#!][^<>]*>|@[\w.\-]+")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")


def _emoji_free(text: str) -> str:
    """``text`` without emoji, skin tones, joiners and variation selectors."""
    return "".join(" " if unicodedata.category(ch) in ("So", "Sk", "Cf", "Mn", "Cs", "Co")
                   or 0xFE00 <= ord(ch) <= 0xFE0F else ch for ch in text)


_SIGNATURE = re.compile(r"^--\s*$", re.M)
_NAME = re.compile(r"^[A-Z][\w.'\-]*(?:\s+[A-Z][\w.'\-]*)?$")


def _own_lines(text: str) -> str:
    """``text`` before a ``-- `` signature, without a last line that is only a name
    ("Thanks,\nJo Smith")."""
    text = _SIGNATURE.split(text, 1)[0].strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > 1 and _NAME.match(lines[-1]):
        lines.pop()
    return "\n".join(lines)


def is_pleasantry(text: str) -> bool:
    """Whether ``text`` (a message's own text, quotes removed) is only a pleasantry or
    emoji, with at most a closing and a name or a ``-- `` signature after it."""
    stripped = unicodedata.normalize("NFC", _own_lines(text))
    if not stripped or len(stripped) > MAX_CHARS:
        return False
    unmentioned = _MENTION.sub(" ", stripped.casefold())
    rest = _emoji_free(_SHORTCODE.sub(" ", unmentioned))
    emoji = rest != _SHORTCODE.sub(" ", unmentioned) or bool(_SHORTCODE.search(unmentioned))
    words = [w.replace("’", "'") for w in _WORD.findall(rest)]
    if re.search(r"\d", rest):
        return False  # a number is information (a ticket, an error code, a time)
    if not words:
        return emoji  # emoji only (with punctuation or a mention); "?" alone asks something
    if len(words) > MAX_WORDS:
        return False
    return all(w in COURTESY or w in FILLER for w in words) and any(w in COURTESY for w in words)


__all__ = ["is_pleasantry"]
