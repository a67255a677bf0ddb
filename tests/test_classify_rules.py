"""Each classification rule on its own: when it fires, when it must not, what it says."""

from __future__ import annotations

import pytest

from bot.classify import RULES, Reason, Report, Stage
from bot.classify.rules import (
    ClientAssessment,
    ClientDefault,
    ExplicitMarker,
    HeaderSignals,
    ImpactUrgency,
)
from bot.priority import Priority

P1, P2, P3, P4 = Priority.P1, Priority.P2, Priority.P3, Priority.P4


def decisive(reasons: list[Reason]) -> list[Priority]:
    return [r.priority for r in reasons if r.priority is not None]


# -- the rule set ----------------------------------------------------------------------------


def test_rules_have_unique_names_descriptions_and_stages_in_order() -> None:
    names = [rule.name for rule in RULES]
    assert names == [
        "explicit-marker",
        "client-assessment",
        "impact-urgency",
        "header-signals",
        "client-default",
    ]
    assert all(rule.description for rule in RULES)
    stages = [rule.stage for rule in RULES]
    assert stages == sorted(stages)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_every_reason_names_its_rule(rule: object) -> None:
    report = Report(
        "[P1] URGENT: site down",
        "Severity: critical\nAll users, no workaround.",
        headers={"X-Priority": "1"},
    )
    reasons = rule.check(report)  # type: ignore[attr-defined]
    assert reasons
    assert {r.rule for r in reasons} == {rule.name}  # type: ignore[attr-defined]


# -- explicit-marker -------------------------------------------------------------------------

MARKER = ExplicitMarker()


@pytest.mark.parametrize(
    ("subject", "body", "priority", "text"),
    [
        ("[P1] Checkout down", "", P1, "subject carries [P1]"),
        ("Checkout down (p2)", "", P2, "subject carries (p2)"),
        ("[Prio 3] export", "", P3, "subject carries [Prio 3]"),
        ("P1: checkout down", "", P1, "subject starts with 'P1:'"),
        ("Re: Fwd: P2 - slow search", "", P2, "subject starts with 'P2 -'"),
        ("[ACME] P4: typo", "", P4, "subject starts with 'P4:'"),
        ("Outage - Priority: P1", "", P1, "subject says 'Priority: P1'"),
        ("SEV2 payments", "", P2, "subject says 'SEV2'"),
        ("Export", "Hello,\nPriority: P2\nThanks", P2, "body says 'Priority: P2'"),
        ("Export", "Prio: 2", P2, "body says 'Prio: 2'"),
        ("Export", "  - Prioriteit: P3", P3, "body says 'Prioriteit: P3'"),
        ("Export", "Priorité : P2", P2, "body says 'Priorité : P2'"),
        ("Export", "Severity: P1 (everything is down)", P1, "body says 'Severity: P1'"),
        ("", "[P1] prod is down", P1, "body line starts with [P1]"),
        ("", "P2: search is slow", P2, "body starts with 'P2:'"),
    ],
)
def test_explicit_marker_fires(subject: str, body: str, priority: Priority, text: str) -> None:
    [reason] = MARKER.check(Report(subject, body))
    assert (reason.priority, reason.text) == (priority, text)
    assert reason.weight >= 0.9


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("P1000 sensor offline", ""),
        ("AP1 access point", ""),
        ("HP1 printer jams", ""),
        ("Release 2.P1", ""),
        ("Upgrade to v1.2 (P2.1 branch)", ""),
        ("Not a [P1], just FYI", ""),
        ("Export", "This is not a P1, but please have a look."),
        ("Export", "The SLA says a P1 must be answered in 2 hours."),
        ("Export", "see the response time for (P2) in the contract"),
        ("Export", "Priority: 1.5 days ago we changed it"),
        ("Export", "Prio: not P1"),
        ("Export", "Priority: P5"),
        ("Export", "P1 tickets are handled by phone"),
        ("Export", "Thanks!\n\nOn Mon, 3 Jun 2024, Support wrote:\n> Priority: P1"),
    ],
)
def test_explicit_marker_does_not_fire_on_false_friends(subject: str, body: str) -> None:
    assert MARKER.check(Report(subject, body)) == []


def test_explicit_marker_reports_each_marker_once() -> None:
    reasons = MARKER.check(Report("[P1] down [P1]", "Priority: P1\nPriority: P1"))
    assert [r.text for r in reasons] == ["subject carries [P1]", "body says 'Priority: P1'"]


def test_explicit_marker_reports_disagreeing_markers_separately() -> None:
    reasons = MARKER.check(Report("[P1] down", "Priority: P3"))
    assert decisive(reasons) == [P1, P3]


# -- client-assessment -----------------------------------------------------------------------

ASSESSMENT = ClientAssessment()


@pytest.mark.parametrize(
    ("subject", "body", "priority"),
    [
        # English
        ("Export", "Severity: critical", P1),
        ("Export", "Urgency: high", P2),
        ("Export", "Impact: low", P4),
        ("Export", "Priority: medium", P3),
        ("Export", "We consider this critical.", P1),
        ("Export", "We would rate this as minor.", P4),
        ("Export", "This is a major incident for us.", P1),
        ("Export", "It's urgent, please call me.", P1),
        ("Export", "Not a big deal, low priority.", P4),
        ("URGENT: invoices missing", "", P1),
        ("Severity: normal - export", "", P3),
        # Dutch
        ("Export", "Ernst: kritiek", P1),
        ("Export", "Urgentie: hoog", P2),
        ("Export", "Prioriteit: gemiddeld", P3),
        ("Export", "Impact: laag", P4),
        ("Export", "Dit is zeer dringend.", P1),
        ("Export", "Wij beschouwen dit als kritiek.", P1),
        ("Export", "Het heeft een lage prioriteit.", P4),
        ("SPOED: facturen", "", P1),
        # French
        ("Export", "Gravité : critique", P1),
        ("Export", "Urgence : élevée", P2),
        ("Export", "Priorité : normale", P3),
        ("Export", "Impact : faible", P4),
        ("Export", "C'est urgent !", P1),
        ("Export", "C’est un incident majeur.", P1),
        ("Export", "Nous considérons cela comme bloquant.", P1),
        ("Export", "Priorité haute, merci.", P2),
        ("Urgent : factures manquantes", "", P1),
    ],
)
def test_client_assessment_fires(subject: str, body: str, priority: Priority) -> None:
    [reason] = ASSESSMENT.check(Report(subject, body))
    assert reason.priority is priority
    assert reason.text.startswith("client assessment '")
    assert reason.text.endswith("in subject" if subject != "Export" else "in body")


@pytest.mark.parametrize(
    "body",
    [
        "This is not critical.",
        "It's not urgent at all.",
        "Niet urgent, gewoon een vraag.",
        "Dit is niet dringend.",
        "Ce n'est pas urgent.",
        "Pas urgent.",
        "Not a major incident, but annoying.",
        "The log shows a critical error in the mailer.",
        "This is normal behaviour according to the docs.",
        "Impact: all users",
        "Urgency: unknown",
        "The urgent ones are handled by phone.",
        "It is blocking for me.",
    ],
)
def test_client_assessment_does_not_fire(body: str) -> None:
    assert ASSESSMENT.check(Report("Export question", body)) == []


def test_client_assessment_needs_a_field_at_line_start_in_the_body() -> None:
    assert ASSESSMENT.check(Report("Export", "see the impact: low on the graph")) == []
    assert decisive(ASSESSMENT.check(Report("Export", "Hello,\nImpact: low\n"))) == [P4]


def test_client_assessment_keyword_in_subject_weighs_less_than_a_stated_assessment() -> None:
    [keyword] = ASSESSMENT.check(Report("Urgent: export", ""))
    [stated] = ASSESSMENT.check(Report("Export", "Severity: critical"))
    assert keyword.priority is stated.priority is P1
    assert keyword.weight < stated.weight


# -- impact-urgency --------------------------------------------------------------------------

IMPACT = ImpactUrgency()


def impact(body: str, subject: str = "Report") -> Priority | None:
    priorities = decisive(IMPACT.check(Report(subject, body)))
    assert len(priorities) <= 1
    return priorities[0] if priorities else None


@pytest.mark.parametrize(
    ("body", "priority"),
    [
        # widespread + blocking -> P1
        ("The site is down for all users and there is no workaround.", P1),
        ("Production is down, we cannot work.", P1),
        ("Alle gebruikers: de site ligt plat, we kunnen niet werken.", P1),
        ("Tous les utilisateurs sont touchés, c'est bloquant.", P1),
        # security or data loss alone -> P1
        ("We noticed data loss in the orders table.", P1),
        ("We found a security breach in the admin panel.", P1),
        ("Er is een datalek ontdekt.", P1),
        ("Nous avons une fuite de données.", P1),
        ("Perte de données sur les factures.", P1),
        # widespread or blocking alone -> P2
        ("The whole site is unreachable.", P2),
        ("Everyone gets an error on the invoices page.", P2),
        ("Er is een storing op productie.", P2),
        ("Le serveur est hors service.", P2),
        ("This is blocking our invoicing.", P2),
        # partial -> P2
        ("Search is slow since this morning.", P2),
        ("Some users get intermittent timeouts.", P2),
        ("Sommige gebruikers zien een fout.", P2),
        ("Het laden is soms erg traag.", P2),
        ("L'application est lente pour certains utilisateurs.", P2),
        ("Le service est dégradé.", P2),
        # single user -> P3
        ("I cannot log in, it is only me.", P3),
        ("Only my account is affected.", P3),
        ("Alleen ik kan niet inloggen.", P3),
        ("Un seul utilisateur ne peut pas se connecter.", P3),
        ("The site is down, but only for me.", P3),
        ("It is slow for one user.", P3),
        # minimal -> P4
        ("There is a typo on the pricing page.", P4),
        ("Quick question: how do I change my avatar?", P4),
        ("Feature request: dark mode.", P4),
        ("Hoe kan ik een export maken?", P4),
        ("Ik heb een vraag over de factuur.", P4),
        ("Une faute de frappe sur la page d'accueil.", P4),
        ("Comment puis-je ajouter un utilisateur ?", P4),
        ("Question: how do I export all users?", P4),
        ("Typo on the production site.", P4),
    ],
)
def test_impact_urgency_combines_as_the_policy_defines(body: str, priority: Priority) -> None:
    assert impact(body) is priority


@pytest.mark.parametrize(
    ("body", "priority"),
    [
        ("The site is down for everyone, no workaround. There is a workaround now: use v1.", P2),
        ("Search is slow for some users. As a workaround we use the old search.", P3),
        ("Het is traag voor sommige gebruikers, er is een omweg.", P3),
        ("C'est lent pour certains utilisateurs, contournement possible.", P3),
        ("There is a typo in the footer; we have a workaround.", P4),
        ("We found a data leak. There is a workaround.", P1),
    ],
)
def test_a_stated_workaround_lowers_by_one_but_not_below_p4_nor_for_data_loss(
    body: str, priority: Priority
) -> None:
    assert impact(body) is priority


def test_a_question_about_a_workaround_does_not_lower() -> None:
    assert impact("Search is slow for some users. Is there a workaround?") is P2


@pytest.mark.parametrize(
    ("body", "negated"),
    [
        ("The site is not down.", "down"),
        ("There was no data loss.", "data loss"),
        ("De site ligt niet plat.", "ligt niet plat"),
        ("Le site n'est pas en panne.", "en panne"),
        ("It is not blocking.", "blocking"),
        ("It isn't slow.", "slow"),
        ("Pas de fuite de données.", "fuite de données"),
        ("Geen dataverlies.", "dataverlies"),
    ],
)
def test_negated_phrases_do_not_fire_and_are_reported_as_ignored(body: str, negated: str) -> None:
    reasons = IMPACT.check(Report("Report", body))
    assert decisive(reasons) == []
    assert [r.text for r in reasons] == [f"ignored '{negated}' in body: negated"]


@pytest.mark.parametrize(
    "body",
    [
        "There is no workaround.",
        "Er is geen workaround.",
        "Aucun contournement n'existe.",
        "Il n'y a pas de solution de contournement.",
        "We have no known workaround.",
        "Without a workaround we are stuck.",
    ],
)
def test_no_workaround_is_itself_a_blocking_signal(body: str) -> None:
    [reason] = IMPACT.check(Report("Report", body))
    assert reason.priority is P2
    assert reason.text.startswith("urgency: '")
    assert "(blocking)" in reason.text


@pytest.mark.parametrize(
    "body",
    [
        "Please scroll down to the drop-down list and slow down.",
        "Hi everyone, thanks everyone!",
        "It works for everyone else.",
        "Bonjour à tout le monde, merci.",
        "Hoi iedereen.",
        "We are storing data in the cache and storing files on disk.",
        "How to reproduce: open the export page.",
        "The page in question is the export page.",
        "We had a memory leak last year.",
        "The prod-like staging box is fine.",
        "I tried several times.",
    ],
)
def test_impact_urgency_ignores_false_friends(body: str) -> None:
    assert IMPACT.check(Report("Report", body)) == []


def test_impact_reason_quotes_the_phrases_and_where_they_are() -> None:
    [reason] = IMPACT.check(Report("Production down", "All users affected. No workaround."))
    assert reason.text == (
        "impact: 'All users' (widespread) in body, 'down' (outage) in subject, "
        "'Production' (production) in subject; urgency: 'No workaround' (blocking) in body"
    )


def test_impact_reason_quotes_accented_phrases_as_written() -> None:
    [reason] = IMPACT.check(Report("Réseau", "Fuite de données détectée."))
    assert "'Fuite de données' (security/data loss) in body" in reason.text


def test_impact_reason_shortens_long_lists() -> None:
    body = "slow. slow! slower, very slow; slowness, degraded"
    [reason] = IMPACT.check(Report("Report", body))
    assert reason.text.endswith("(+2 more)")
    assert reason.text.count("(partial)") == 2


def test_impact_weight_grows_with_corroboration_and_stays_within_range() -> None:
    [one] = IMPACT.check(Report("Report", "Search is slow."))
    [three] = IMPACT.check(Report("Report", "Search is slow for some users, with timeouts."))
    [strongest] = IMPACT.check(Report("Site down", "Down for all users, no workaround, standstill"))
    assert 0.6 <= one.weight < three.weight <= strongest.weight <= 0.8


def test_a_workaround_without_impact_is_only_informative() -> None:
    [reason] = IMPACT.check(Report("Report", "We use a workaround for the export."))
    assert reason.priority is None
    assert "stated workaround 'workaround' in body" in reason.text


# -- header-signals --------------------------------------------------------------------------

HEADERS = HeaderSignals()


@pytest.mark.parametrize(
    ("headers", "priority"),
    [
        ({"Importance": "high"}, P2),
        ({"importance": "High"}, P2),
        ({"X-Priority": "1 (Highest)"}, P1),
        ({"x-priority": "2"}, P2),
        ({"Priority": "urgent"}, P1),
        ({"X-MSMail-Priority": "High"}, P2),
    ],
)
def test_header_signals_fire_weakly(headers: dict[str, str], priority: Priority) -> None:
    [reason] = HEADERS.check(Report("Export", "", headers=headers))
    assert reason.priority is priority
    assert reason.weight <= 0.3
    assert "weak" in reason.text


@pytest.mark.parametrize(
    "headers",
    [{"Importance": "low"}, {"X-Priority": "5 (Lowest)"}, {"Priority": "non-urgent"}],
)
def test_low_importance_headers_are_informative_only(headers: dict[str, str]) -> None:
    [reason] = HEADERS.check(Report("Export", "", headers=headers))
    assert reason.priority is None
    assert "informative only" in reason.text


@pytest.mark.parametrize(
    "headers",
    [{}, {"Importance": "normal"}, {"X-Priority": "3"}, {"Subject": "Priority: urgent"}],
)
def test_header_signals_ignore_normal_or_unrelated_headers(headers: dict[str, str]) -> None:
    assert HEADERS.check(Report("Export", "Importance: high", headers=headers)) == []


# -- client-default --------------------------------------------------------------------------

DEFAULT = ClientDefault()


def test_client_default_uses_the_configured_default() -> None:
    [reason] = DEFAULT.check(Report("Export", "", client_default=P2))
    assert (reason.priority, reason.text) == (P2, "no stronger signal: client default P2")
    assert reason.weight <= 0.3


def test_client_default_falls_back_to_p3_with_even_less_weight() -> None:
    [reason] = DEFAULT.check(Report("Export", ""))
    assert reason.priority is P3
    assert "no client default" in reason.text
    assert reason.weight < DEFAULT.check(Report("", "", client_default=P3))[0].weight


def test_rule_stages() -> None:
    assert MARKER.stage is Stage.EXPLICIT
    assert ASSESSMENT.stage is Stage.ASSESSMENT
    assert IMPACT.stage is Stage.EVIDENCE
    assert HEADERS.stage is Stage.NUDGE
    assert DEFAULT.stage is Stage.FALLBACK
