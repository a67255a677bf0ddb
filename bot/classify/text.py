"""Text helpers the rules share: folding, the visible body, phrase matching with negation.

Rules match against *folded* text (case-folded, accents removed, curly apostrophes made
straight) and quote the original text back, so 'Priorité' matches 'priorite' and the reason
still says 'Priorité'.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from bot.classify.model import Report

NEGATORS = frozenset(
    {
        # English
        "not", "no", "never", "none", "without", "nor", "neither", "cannot",
        # Dutch
        "niet", "geen", "nooit", "zonder", "noch",
        # French
        "pas", "aucun", "aucune", "jamais", "sans", "ni", "non",
    }
)  # fmt: skip
"""Words that negate what follows; tokens ending in n't and French n'... count too."""

NOT_NEGATORS = frozenset({"n'importe"})

ADVERBS = frozenset(
    {
        "completely", "totally", "fully", "entirely", "still", "again", "now", "currently",
        "really", "actually", "even", "longer", "helemaal", "volledig", "nog", "weer", "echt",
        "meer", "momenteel", "completement", "totalement", "toujours", "encore", "vraiment",
        "plus", "actuellement",
    }
)  # fmt: skip
"""Words skipped when looking for the word directly before a phrase."""

FUNCTION_WORDS = frozenset(
    {
        "a", "an", "the", "any", "is", "are", "was", "were", "be", "been", "it", "that", "so",
        "very", "too", "seem", "seems", "look", "looks", "appear", "appears", "there",
        "de", "het", "een", "zijn", "er", "erg",
        "le", "la", "les", "l'", "un", "une", "des", "du", "d'", "en", "est", "sont", "y", "tout",
    }
)  # fmt: skip
"""Words that may sit between a negator and what it negates ('not a', 'pas de', 'geen echte')."""

NEGATION_EXCEPTIONS = frozenset({"only", "just", "alleen", "enkel", "seulement"})
"""'not only', 'niet alleen', 'pas seulement' do not negate what follows."""

APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})

CLAUSE_BREAK = re.compile(r"[.!?;:,()\[\]\n]|(?<!\w)(?:but|maar|mais|however|echter)(?!\w)")

REPLY_CUT = re.compile(
    r"""^[ \t]*(?:
        -{2,}[ \t]*(?:original\ message|oorspronkelijk\ bericht|message\ d'origine
                     |message\ original|reply\ message)[ \t]*-{2,}
      | on\ [^\n]{1,200}\ wrote:
      | op\ [^\n]{1,200}\ (?:schreef|heeft)[^\n]{0,100}:
      | le\ [^\n]{1,200}\ a\ ecrit[ \t]*:
      | (?:from|van|de)[ \t]*:[^\n]*\n[ \t]*(?:sent|date|verzonden|envoye|datum)[ \t]*:[^\n]*
      | --[ \t]?
    )[ \t]*$""",
    re.MULTILINE | re.VERBOSE,
)
"""Where quoted history or a signature starts (matched on folded text)."""

GAP = r"(?:[\w']+[\s\-]+){0,2}"
SEPARATOR = r"[\s\-]+"
WORD = re.compile(r"[\w']+")
WORD_RUN = re.compile(r"\w+")
SENTENCE_END = re.compile(r"[.!?\n]")


def fold(text: str) -> str:
    """Case-fold, strip accents and straighten apostrophes."""
    return _fold_with_index(text)[0]


@lru_cache(maxsize=256)
def _fold_with_index(text: str) -> tuple[str, tuple[int, ...]]:
    out: list[str] = []
    index: list[int] = []
    for i, char in enumerate(text.translate(APOSTROPHES)):
        for part in unicodedata.normalize("NFKD", char):
            if unicodedata.combining(part):
                continue
            for folded in part.casefold():
                out.append(folded)
                index.append(i)
    return "".join(out), tuple(index)


@dataclass(frozen=True)
class Source:
    """One place a rule looks at (the subject or the body), folded for matching."""

    where: str
    original: str
    folded: str
    index: tuple[int, ...]
    words: frozenset[str] = frozenset()
    """The folded text's runs of word characters: a term whose first word is such a run can
    only match where that run is one of these."""

    @classmethod
    def of(cls, where: str, text: str) -> Source:
        folded, index = _fold_with_index(text)
        return cls(where, text, folded, index, frozenset(WORD_RUN.findall(folded)))

    def quote(self, start: int, end: int) -> str:
        """The original text behind folded[start:end], whitespace collapsed."""
        if start >= end:
            return ""
        first, last = self.index[start], self.index[end - 1] + 1
        return " ".join(self.original[first:last].split())


def visible_body(body: str) -> str:
    """The body without quoted history, reply headers or signature."""
    folded, index = _fold_with_index(body)
    cut = REPLY_CUT.search(folded)
    kept = body[: index[cut.start()]] if cut and index else body
    return "\n".join(line for line in kept.splitlines() if not line.lstrip().startswith(">"))


def sources(report: Report) -> tuple[Source, Source]:
    """The subject and the visible body, ready for matching."""
    return Source.of("subject", report.subject), Source.of("body", visible_body(report.body))


@dataclass(frozen=True)
class Term:
    """A phrase of a lexicon and what it signals.

    `phrase` is folded words separated by spaces; `*` stands for up to two other words
    ('ligt * plat' matches 'ligt helemaal plat'). A negator inside such a gap negates it.
    """

    phrase: str
    category: str
    not_after: tuple[str, ...] = ()  # ignored when the word before is one of these
    only_after: tuple[str, ...] = ()  # counts only when the word before is one of these
    not_before: tuple[str, ...] = ()  # ignored when the word after is one of these
    statement: bool = False  # ignored inside a question ('is there a workaround?')


@dataclass(frozen=True)
class Hit:
    """Where a term matched, and whether it was negated there."""

    term: Term
    where: str
    start: int
    end: int
    quote: str
    negated: bool


CompiledTerms = tuple[tuple[Term, re.Pattern[str], str, bool], ...]
"""Each term with its pattern, its first word and whether that word is a run of word
characters (cheap tests before the pattern)."""


def compile_terms(terms: Iterable[Term]) -> CompiledTerms:
    out = []
    for term in terms:
        first = term.phrase.split(maxsplit=1)[0]
        out.append((term, phrase_pattern(term.phrase), first, bool(WORD_RUN.fullmatch(first))))
    return tuple(out)


def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """A word-bounded pattern for a folded phrase; words may be split by spaces or hyphens."""
    words = phrase.split()
    body = re.escape(words[0])
    for previous, word in pairwise(words):
        if word == "*":
            continue
        body += SEPARATOR + (GAP if previous == "*" else "") + re.escape(word)
    return re.compile(rf"(?<![\w\-]){body}(?![\w\-])")


def is_negator(token: str) -> bool:
    if token in NOT_NEGATORS:
        return False
    return token in NEGATORS or token.endswith("n't") or (token.startswith("n'") and len(token) > 2)


def words_before(folded: str, start: int, limit: int = 5) -> list[str]:
    """Up to `limit` words before `start`, within the same clause."""
    segment = folded[max(0, start - 160) : start]
    breaks = list(CLAUSE_BREAK.finditer(segment))
    if breaks:
        segment = segment[breaks[-1].end() :]
    return WORD.findall(segment)[-limit:]


def word_after(folded: str, end: int) -> str:
    match = re.match(r"[\s\-]*([\w']+)", folded[end : end + 60])
    return match.group(1) if match else ""


def negated(before: Sequence[str], inside: Iterable[str] = ()) -> bool:
    """Whether a phrase is negated by the words before it or by a negator in its gap."""
    if any(is_negator(token) for token in inside):
        return True
    previous = ""
    for token in reversed(before):
        if is_negator(token):
            return previous not in NEGATION_EXCEPTIONS
        if token not in ADVERBS and token not in FUNCTION_WORDS:
            return False
        previous = token
    return False


def previous_word(before: Sequence[str]) -> str:
    """The nearest word before a phrase, skipping adverbs and negators ('is not really')."""
    for token in reversed(before):
        if token not in ADVERBS and not is_negator(token):
            return token
    return ""


def in_question(folded: str, end: int) -> bool:
    """Whether the sentence around `end` ends with a question mark."""
    match = SENTENCE_END.search(folded, end)
    return bool(match) and match.group() == "?"


def find_terms(source: Source, terms: CompiledTerms) -> list[Hit]:
    """Every place a term matches in `source`, negated or not, after dropping overlaps.

    A hit inside a longer hit is dropped ('workaround' inside 'no workaround'), and so is
    a negated hit that overlaps a positive one.
    """
    hits: list[Hit] = []
    folded = source.folded
    words = source.words
    for term, pattern, first, plain in terms:
        # A phrase cannot match where its first word is absent (the pattern bounds it by
        # non-word characters); these tests are far cheaper than the pattern, whose leading
        # look-behind defeats the regex prefix scan.
        if (first not in words) if plain and words else (first not in folded):
            continue
        for match in pattern.finditer(folded):
            hit = _hit(source, term, match)
            if hit is not None:
                hits.append(hit)
    return _without_overlaps(hits)


def _hit(source: Source, term: Term, match: re.Match[str]) -> Hit | None:
    text = source.folded
    before = words_before(text, match.start())
    prev = previous_word(before)
    if term.not_after and prev in term.not_after:
        return None
    if term.only_after and prev not in term.only_after:
        return None
    if term.not_before and word_after(text, match.end()) in term.not_before:
        return None
    if term.statement and in_question(text, match.end()):
        return None
    words = term.phrase.split()
    inside = [w for w in WORD.findall(match.group()) if w not in words]
    if is_negator(words[0]):
        before = []  # 'no workaround', 'pas de contournement': the negation is the signal
    quote = source.quote(match.start(), match.end())
    return Hit(term, source.where, match.start(), match.end(), quote, negated(before, inside))


def _without_overlaps(hits: list[Hit]) -> list[Hit]:
    # Sorted by start, longest first, a hit ending no later than an earlier one lies
    # inside it (or repeats it): keep only the outermost hits.
    outermost: list[Hit] = []
    reach = -1
    for hit in sorted(hits, key=lambda h: (h.start, -(h.end - h.start))):
        if hit.end > reach:
            outermost.append(hit)
            reach = hit.end
    # Starts and ends now both increase, so a hit overlaps only its close neighbours.
    return [
        hit
        for i, hit in enumerate(outermost)
        if not (hit.negated and _overlaps_positive(outermost, i))
    ]


def _overlaps_positive(hits: list[Hit], i: int) -> bool:
    hit = hits[i]
    j = i - 1
    while j >= 0 and hits[j].end > hit.start:
        if not hits[j].negated:
            return True
        j -= 1
    j = i + 1
    while j < len(hits) and hits[j].start < hit.end:
        if not hits[j].negated:
            return True
        j += 1
    return False
