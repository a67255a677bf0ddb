"""classify(): how the rules' findings combine into one priority, confidence and reasons."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.classify import CONFLICT, RULES, Classification, Reason, Report, Stage, classify
from bot.priority import Priority

P1, P2, P3, P4 = Priority.P1, Priority.P2, Priority.P3, Priority.P4

OUTAGE_BODY = "Production is down for all users and we cannot work. There is no workaround."


def rules_of(result: Classification) -> list[str]:
    return [r.rule for r in result.reasons]


# -- which stage decides ---------------------------------------------------------------------


def test_explicit_marker_decides_with_high_confidence() -> None:
    result = classify(Report("[P2] Export slow", "The export is slow for some users."))
    assert result.priority is P2
    assert result.confidence == 0.95
    assert result.reasons[0].rule == "explicit-marker"


def test_client_assessment_decides_when_there_is_no_marker() -> None:
    result = classify(Report("Export", "Severity: high\nThe export is slow for some users."))
    assert result.priority is P2
    assert result.confidence == 0.85
    assert rules_of(result) == ["client-assessment", "impact-urgency"]


def test_explicit_marker_beats_client_assessment() -> None:
    result = classify(Report("[P3] Export", "Urgency: high\nThe export fails."))
    assert result.priority is P3
    assert rules_of(result)[:2] == ["explicit-marker", "client-assessment"]


def test_impact_urgency_decides_when_the_client_says_nothing() -> None:
    result = classify(Report("Site down", OUTAGE_BODY))
    assert result.priority is P1
    assert 0.6 <= result.confidence <= 0.8
    assert rules_of(result) == ["impact-urgency"]


def test_the_default_decides_when_nothing_else_does_and_says_so() -> None:
    result = classify(Report("Hello", "Please call me back.", client_default=P2))
    assert result.priority is P2
    assert result.confidence == 0.3
    [reason] = result.reasons
    assert reason.rule == "client-default"
    assert "no stronger signal" in reason.text


def test_without_client_default_the_fallback_is_p3() -> None:
    result = classify(Report("Hello", "Please call me back."))
    assert result.priority is P3
    assert result.confidence < 0.3


def test_the_default_reason_is_left_out_when_something_stronger_decides() -> None:
    result = classify(Report("Typo", "There is a typo.", client_default=P2))
    assert result.priority is P4
    assert "client-default" not in rules_of(result)


def test_confidence_ordering_explicit_assessment_words_default() -> None:
    body = "The export is slow for some users."
    explicit = classify(Report("[P2] Export", body))
    assessment = classify(Report("Export", f"Urgency: high\n{body}"))
    words = classify(Report("Export", body))
    default = classify(Report("Export", "Please have a look."))
    assert {explicit.priority, assessment.priority, words.priority} == {P2}
    assert explicit.confidence > assessment.confidence > words.confidence > default.confidence


def test_within_a_stage_the_more_urgent_finding_wins_a_tie_and_costs_confidence() -> None:
    result = classify(Report("[P3] Export", "Priority: P2"))
    assert result.priority is P2
    assert result.confidence == pytest.approx(0.90)
    assert [r.priority for r in result.reasons] == [P2, P3]


def test_within_a_stage_a_strong_disagreement_is_a_conflict() -> None:
    result = classify(Report("[P1] Export", "Priority: P4"))
    assert result.priority is P1
    assert CONFLICT in rules_of(result)
    assert result.confidence < 0.95


# -- conflicts -------------------------------------------------------------------------------


def test_marker_kept_but_conflict_noted_when_text_disagrees_strongly() -> None:
    result = classify(Report("[P4] small thing", OUTAGE_BODY))
    assert result.priority is P4
    [conflict] = [r for r in result.reasons if r.rule == CONFLICT]
    assert conflict.text == (
        "conflict: explicit marker gives P4 but impact/urgency wording points to P1; P4 kept"
    )
    assert conflict.priority is None
    assert result.confidence <= 0.6
    assert rules_of(result) == ["explicit-marker", CONFLICT, "impact-urgency"]


def test_a_one_level_disagreement_with_weaker_findings_costs_nothing() -> None:
    agreeing = classify(Report("[P2] Search", "Search is slow for some users."))
    close = classify(Report("[P3] Search", "Search is slow for some users."))
    assert close.priority is P3
    assert CONFLICT not in rules_of(close)
    assert agreeing.confidence == close.confidence == 0.95


def test_assessment_against_text_conflict() -> None:
    result = classify(Report("Typo", "Impact: critical\nThere is a typo in the footer."))
    assert result.priority is P1
    assert any(r.rule == CONFLICT and "points to P4" in r.text for r in result.reasons)


# -- client_sets_priority = False ------------------------------------------------------------


def test_provider_decides_markers_and_assessments_are_advisory() -> None:
    report = Report(
        "[P1] URGENT export slow",
        "Severity: critical\nThe export is slow for some users.",
        client_sets_priority=False,
    )
    result = classify(report)
    assert result.priority is P2
    assert result.reasons[0].rule == "impact-urgency"
    advisory = [r for r in result.reasons if r.rule in ("explicit-marker", "client-assessment")]
    assert len(advisory) == 3
    assert all("advisory" in r.text and "provider sets priority" in r.text for r in advisory)


def test_provider_decides_and_notes_a_strongly_disagreeing_client_marker() -> None:
    result = classify(Report("[P1] Typo", "Typo in the footer.", client_sets_priority=False))
    assert result.priority is P4
    assert any(
        r.rule == CONFLICT and "explicit marker points to P1" in r.text for r in result.reasons
    )


def test_provider_decides_with_only_a_marker_the_default_applies() -> None:
    result = classify(Report("[P1] Export", "Please check.", client_sets_priority=False))
    assert result.priority is P3
    assert rules_of(result) == ["client-default", "explicit-marker"]
    assert "advisory" in result.reasons[1].text


def test_the_same_report_changes_priority_with_the_contract() -> None:
    subject, body = "[P1] Export", "The export is slow for some users."
    assert classify(Report(subject, body)).priority is P1
    assert classify(Report(subject, body, client_sets_priority=False)).priority is P2


# -- header nudges ---------------------------------------------------------------------------


def test_header_raises_the_default_by_one_level() -> None:
    result = classify(Report("Export", "Please check.", headers={"Importance": "high"}))
    assert result.priority is P2
    assert rules_of(result) == ["client-default", "header-signals"]
    assert result.reasons[1].text.endswith("raises P3 to P2")


def test_header_raises_at_most_one_level() -> None:
    report = Report("Typo", "Typo in the footer.", headers={"X-Priority": "1"})
    assert classify(report).priority is P3


def test_header_never_raises_to_p1() -> None:
    report = Report("Search", "Search is slow.", headers={"X-Priority": "1 (Highest)"})
    result = classify(report)
    assert result.priority is P2
    assert not any("raises" in r.text for r in result.reasons)


def test_header_does_not_raise_beyond_what_it_asks_for() -> None:
    report = Report("Typo", "Typo in the footer.", headers={"Importance": "high"})
    assert classify(report).priority is P3
    report = Report("Search", "Search is slow.", headers={"Importance": "high"})
    assert classify(report).priority is P2


def test_header_does_not_override_the_clients_explicit_marker() -> None:
    report = Report("[P4] Typo", "Typo.", headers={"X-Priority": "1", "Importance": "high"})
    assert classify(report).priority is P4


def test_headers_are_looked_up_case_insensitively() -> None:
    report = Report("Export", "Please check.", headers={"iMpOrTaNcE": "HIGH"})
    assert report.header("importance") == "HIGH"
    assert report.header("X-Priority") is None
    assert classify(report).priority is P2


def test_low_importance_header_is_informative_only() -> None:
    result = classify(Report("Search", "Search is slow.", headers={"Importance": "low"}))
    assert result.priority is P2
    assert result.reasons[-1].priority is None
    assert "informative only" in result.reasons[-1].text


# -- reasons and summary ---------------------------------------------------------------------


def test_reasons_are_ordered_decisive_first_and_remarks_last() -> None:
    report = Report(
        "[P1] Site down",
        "Severity: critical\nThe site is down for all users. No data loss.",
        headers={"Importance": "high"},
    )
    result = classify(report)
    assert rules_of(result) == [
        "explicit-marker",
        "client-assessment",
        "impact-urgency",
        "header-signals",
        "impact-urgency",
    ]
    assert result.reasons[-1].text == "ignored 'data loss' in body: negated"


def test_summary_is_one_line_with_priority_confidence_and_leading_reasons() -> None:
    result = classify(Report("[P1] Production down", "All users affected."))
    assert result.summary() == (
        "P1 (confidence 0.95): subject carries [P1]; impact: 'All users' (widespread) in body, "
        "'down' (outage) in subject, 'Production' (production) in subject"
    )


def test_summary_counts_what_it_leaves_out() -> None:
    report = Report("[P1] URGENT down", "Severity: critical\nSite is down for everyone.")
    summary = classify(report).summary()
    assert summary.startswith("P1 (confidence 0.95): subject carries [P1]; ")
    assert summary.endswith("(+1 more)")
    assert "\n" not in summary


def test_summary_of_the_fallback_explains_itself() -> None:
    summary = classify(Report("Hello", "Call me.", client_default=P4)).summary()
    assert summary == "P4 (confidence 0.30): no stronger signal: client default P4"


def test_summary_mentions_a_conflict() -> None:
    summary = classify(Report("[P4] small thing", OUTAGE_BODY)).summary()
    assert summary.startswith("P4 (confidence ")
    assert "conflict: explicit marker gives P4" in summary


# -- custom rule sets ------------------------------------------------------------------------


@dataclass
class FixedRule:
    """A rule that always finds the same thing."""

    name: str
    stage: Stage
    priority: Priority | None
    weight: float = 0.5
    description: str = "test rule"

    def check(self, report: Report) -> list[Reason]:
        return [Reason(self.name, f"{self.name} says {self.priority}", self.priority, self.weight)]


class StagelessRule:
    """A rule following only the name/description/check interface."""

    name = "stageless"
    description = "no stage attribute"

    def check(self, report: Report) -> list[Reason]:
        return [Reason(self.name, "stageless says P2", P2, 0.5)]


def test_no_rules_still_gives_a_classification_that_explains_itself() -> None:
    result = classify(Report("x", "y"), rules=())
    assert result.priority is P3
    assert result.reasons[0].text.startswith("no rule gave a priority")


def test_rules_without_a_priority_fall_through_to_the_last_resort() -> None:
    rules = [FixedRule("remark", Stage.EVIDENCE, None, 0.0)]
    result = classify(Report("x", "y"), rules=rules)
    assert result.priority is P3
    assert rules_of(result) == ["classify", "remark"]


def test_a_rule_without_stage_counts_as_evidence() -> None:
    rules = [StagelessRule(), FixedRule("default", Stage.FALLBACK, P4, 0.3)]
    result = classify(Report("x", "y"), rules=rules)  # type: ignore[list-item]
    assert result.priority is P2
    assert rules_of(result) == ["stageless"]


def test_heavier_evidence_wins_within_a_stage() -> None:
    rules = [
        FixedRule("light", Stage.EVIDENCE, P1, 0.4),
        FixedRule("heavy", Stage.EVIDENCE, P3, 0.7),
    ]
    result = classify(Report("x", "y"), rules=rules)
    assert result.priority is P3
    assert rules_of(result)[0] == "heavy"


# -- invariants ------------------------------------------------------------------------------


def test_reason_weight_must_be_within_range() -> None:
    with pytest.raises(ValueError, match="weight"):
        Reason("x", "y", P1, 1.5)


def test_classification_needs_a_reason() -> None:
    with pytest.raises(ValueError, match="reason"):
        Classification(P1, 0.5, ())


def test_reports_with_headers_are_hashable_and_compare_by_value() -> None:
    a = Report("x", "y", headers={"Importance": "high"})
    b = Report("x", "y", headers={"Importance": "high"})
    assert a == b
    assert hash(a) == hash(b)
    assert a != Report("x", "y", headers={"Importance": "low"})


def test_classify_is_deterministic() -> None:
    report = Report("[P4] Production down", OUTAGE_BODY, headers={"X-Priority": "1"})
    assert classify(report) == classify(report)
    assert classify(report).summary() == classify(report).summary()


def test_default_rules_are_the_documented_ones() -> None:
    assert RULES[0].name == "explicit-marker"
    assert classify(Report("[P1] x", "")) == classify(Report("[P1] x", ""), rules=RULES)


HEADER_NAMES = st.sampled_from(
    ["Importance", "X-Priority", "priority", "X-MSMail-Priority", "Received", "Subject"]
)


@settings(max_examples=300, deadline=None)
@given(
    subject=st.text(max_size=200),
    body=st.text(max_size=2000),
    headers=st.dictionaries(HEADER_NAMES, st.text(max_size=30), max_size=4),
    client_default=st.none() | st.sampled_from(list(Priority)),
    client_sets_priority=st.booleans(),
)
def test_classify_never_raises_and_always_explains(
    subject: str,
    body: str,
    headers: dict[str, str],
    client_default: Priority | None,
    client_sets_priority: bool,
) -> None:
    report = Report(subject, body, headers, client_default, client_sets_priority)
    result = classify(report)
    assert result.reasons
    assert 0.0 <= result.confidence <= 1.0
    assert result.reasons[0].priority is not None
    summary = result.summary()
    assert summary.startswith(f"{result.priority} (confidence ")
    assert "\n" not in summary


SOUP = (
    "P1 [P2] (P3) P4: Priority: Prio: 2 Severity: critical urgent high low not no niet pas geen "
    "aucun down outage production productie panne ligt plat all users everyone iedereen "
    "workaround omweg contournement slow traag lent typo vraag question only me blocking "
    "data loss datalek ? . , : ; > -- é"
)
VOCABULARY = tuple(SOUP.split())


@settings(max_examples=300, deadline=None)
@given(
    subject=st.lists(st.sampled_from(VOCABULARY), max_size=8).map(" ".join),
    body=st.lists(st.sampled_from([*VOCABULARY, "\n"]), max_size=60).map(" ".join),
    client_sets_priority=st.booleans(),
)
def test_classify_holds_its_promises_on_keyword_soup(
    subject: str, body: str, client_sets_priority: bool
) -> None:
    result = classify(Report(subject, body, client_sets_priority=client_sets_priority))
    decisive = result.reasons[0]
    assert decisive.priority is not None
    if not client_sets_priority:
        assert decisive.rule not in ("explicit-marker", "client-assessment")
    assert result.priority is decisive.priority  # without headers nothing raises the decision
