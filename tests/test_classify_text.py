"""The shared text helpers of bot.classify: folding, visible body, phrase matching, negation."""

from __future__ import annotations

import pytest

from bot.classify.text import (
    Source,
    Term,
    compile_terms,
    find_terms,
    fold,
    negated,
    phrase_pattern,
    visible_body,
)


def hits(text: str, *terms: Term) -> list[tuple[str, str, bool]]:
    """(category, quote, negated) for every term found in `text`."""
    source = Source.of("body", text)
    return [(h.term.category, h.quote, h.negated) for h in find_terms(source, compile_terms(terms))]


# -- folding and quoting ---------------------------------------------------------------------


def test_fold_strips_accents_case_and_curly_apostrophes() -> None:
    assert fold("Priorité : ÉLEVÉE") == "priorite : elevee"
    assert fold("C’est urgent") == "c'est urgent"
    assert fold("één gebruiker") == "een gebruiker"


def test_quote_returns_the_original_text_behind_a_folded_match() -> None:
    source = Source.of("body", "La  Priorité\nest élevée")
    start = source.folded.index("priorite")
    end = source.folded.index("elevee") + len("elevee")
    assert source.quote(start, end) == "Priorité est élevée"


def test_quote_survives_characters_that_fold_to_several() -> None:
    source = Source.of("subject", "Straße ist gesperrt")
    assert source.folded.startswith("strasse")
    assert source.quote(0, len("strasse")) == "Straße"


# -- visible body ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply_header",
    [
        "On Mon, 3 Jun 2024 at 08:12, Support <support@example.com> wrote:",
        "Op ma 3 jun. 2024 om 08:12 schreef Support <support@example.com>:",
        "Le lun. 3 juin 2024 à 08:12, Support <support@example.com> a écrit :",
        "-----Original Message-----",
        "-------- Message d'origine --------",
        "From: Support <support@example.com>\nSent: Monday, June 3, 2024 08:12",
        "Van: Support <support@example.com>\nVerzonden: maandag 3 juni 2024 08:12",
    ],
)
def test_visible_body_cuts_quoted_history(reply_header: str) -> None:
    body = f"The export fails.\n\n{reply_header}\nPriority: P4\nAll good here."
    visible = visible_body(body)
    assert "The export fails." in visible
    assert "P4" not in visible
    assert "All good" not in visible


def test_visible_body_drops_quoted_lines_and_signature() -> None:
    body = "New problem here.\n> Priority: P1\n> old text\nMore text.\n-- \nJan\nPriority: P2"
    visible = visible_body(body)
    assert visible.splitlines() == ["New problem here.", "More text."]


def test_visible_body_keeps_plain_text_untouched() -> None:
    body = "Line one.\nLine two -- with dashes inside.\n"
    assert visible_body(body) == "Line one.\nLine two -- with dashes inside."


# -- phrase matching -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("The site is slow today", True),
        ("SLOW!", True),
        ("slowly", False),
        ("a slow-motion video", False),
        ("an extra-slow query", False),
    ],
)
def test_phrases_match_on_word_boundaries(text: str, found: bool) -> None:
    assert bool(phrase_pattern("slow").search(fold(text))) is found


def test_multiword_phrases_allow_any_whitespace_or_hyphen_between_words() -> None:
    pattern = phrase_pattern("hors service")
    assert pattern.search(fold("le serveur est hors-service"))
    assert pattern.search(fold("le serveur est hors\n  service"))


def test_a_gap_allows_up_to_two_words() -> None:
    pattern = phrase_pattern("ligt * plat")
    assert pattern.search("ligt plat")
    assert pattern.search("ligt helemaal plat")
    assert pattern.search("ligt sinds vanochtend plat")
    assert not pattern.search("ligt sinds vanochtend weer plat")


# -- negation --------------------------------------------------------------------------------


DOWN = Term("down", "outage", only_after=("is", "site"))
LOSS = Term("data loss", "severe")
PLAT = Term("ligt * plat", "outage")
PANNE = Term("en panne", "outage")


@pytest.mark.parametrize(
    ("text", "term", "is_negated"),
    [
        ("The site is down", DOWN, False),
        ("The site is not down", DOWN, True),
        ("The site isn't down", DOWN, True),
        ("The site is no longer down", DOWN, True),
        ("There was data loss", LOSS, False),
        ("There was no data loss", LOSS, True),
        ("Without any data loss", LOSS, True),
        ("De site ligt plat", PLAT, False),
        ("De site ligt niet plat", PLAT, True),
        ("De site ligt helemaal niet plat", PLAT, True),
        ("Le site est en panne", PANNE, False),
        ("Le site n'est pas en panne", PANNE, True),
        ("Le site n’est plus en panne", PANNE, True),
    ],
)
def test_negation_is_detected_before_and_inside_a_phrase(
    text: str, term: Term, is_negated: bool
) -> None:
    [(_, _, negation)] = hits(text, term)
    assert negation is is_negated


def test_a_negator_in_an_earlier_clause_does_not_negate() -> None:
    assert hits("Not sure why, but there was data loss", LOSS) == [("severe", "data loss", False)]


def test_a_negator_far_before_a_phrase_does_not_negate() -> None:
    assert negated(["users", "cannot", "access", "the"]) is False
    assert negated(["is", "not", "a"]) is True


def test_not_only_does_not_negate() -> None:
    assert negated(["not", "only"]) is False
    assert negated(["niet", "alleen"]) is False


def test_french_n_importe_is_not_a_negation() -> None:
    assert negated(["n'importe"]) is False


# -- context conditions ----------------------------------------------------------------------


def test_only_after_requires_the_word_before() -> None:
    assert hits("please scroll down", DOWN) == []
    assert hits("site down since 9:00", DOWN) == [("outage", "down", False)]
    assert hits("the site is completely down", DOWN) == [("outage", "down", False)]


def test_not_after_and_not_before_exclude_false_friends() -> None:
    everyone = Term("everyone", "wide", not_after=("hi",), not_before=("else",))
    assert hits("Hi everyone, the export fails", everyone) == []
    assert hits("It works for everyone else", everyone) == []
    assert hits("It fails for everyone", everyone) == [("wide", "everyone", False)]


def test_statement_terms_do_not_count_inside_a_question() -> None:
    workaround = Term("workaround", "workaround", statement=True)
    assert hits("Is there a workaround?", workaround) == []
    assert hits("We use a workaround. Is that fine?", workaround) == [
        ("workaround", "workaround", False)
    ]


def test_a_hit_inside_a_longer_hit_is_dropped() -> None:
    blocking = Term("no * workaround", "blocking")
    workaround = Term("workaround", "workaround")
    assert hits("There is no known workaround", blocking, workaround) == [
        ("blocking", "no known workaround", False)
    ]


def test_a_negated_hit_overlapping_a_positive_one_is_dropped() -> None:
    data_loss = Term("data loss", "severe")
    loss_of_service = Term("loss of service", "outage")
    assert hits("no data loss of service", data_loss, loss_of_service) == [
        ("outage", "loss of service", False)
    ]


def test_separate_negated_and_positive_hits_are_both_kept() -> None:
    slow = Term("slow", "partial")
    assert hits("not slow, slow", slow) == [("partial", "slow", True), ("partial", "slow", False)]
