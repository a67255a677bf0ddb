"""Realistic incident reports in English, Dutch and French, classified end to end."""

from __future__ import annotations

import pytest

from bot.classify import CONFLICT, Report, classify
from bot.priority import Priority

P1, P2, P3, P4 = Priority.P1, Priority.P2, Priority.P3, Priority.P4

EN_CHECKOUT_DOWN = Report(
    "Checkout broken - customers cannot pay",
    """Hi team,

Since 08:40 this morning the checkout on our webshop is down for all customers: every
payment attempt ends in a 502 Bad Gateway. Our sales are at a standstill and there is no
workaround we know of (we tried another browser and the mobile app, same error).

Can you please look into this immediately?

Kind regards,
Sarah Janssens
Operations Manager

On Mon, 3 Jun 2024 at 08:12, Support <support@example.com> wrote:
> Priority: P4
> Thanks for your feedback about the footer typo.
""",
    headers={"From": "sarah@shop.example", "Importance": "high"},
)

EN_SINGLE_USER = Report(
    "Can't log in",
    """Hello,

I get "invalid password" when logging in, even after a reset. My colleagues can log in
without problems, so it seems to be only my account. It is blocking for me today.

Thanks,
Tom
--\x20
Tom Peeters | Finance | +32 470 00 00 00
""",
)

EN_HOWTO = Report(
    "Question about CSV export",
    """Hi,

quick question: how do I export the list of all users to CSV? Nothing is broken, I just
couldn't find it in the manual.

Best,
An
""",
    client_default=Priority.P3,
)

EN_SLOW_WITH_SEVERITY = Report(
    "Dashboard very slow since release",
    """Dear support,

Since the release yesterday the dashboard is very slow for some users (30+ seconds to
load), and we see intermittent timeouts on the reports page. Other pages work fine.

Severity: high

Regards,
Marc
""",
)

EN_MARKED_LOW_BUT_OUTAGE = Report(
    "[P4] small thing with login",
    """Hi,

Probably nothing, but the whole site is down for everyone here since 10:00 and nobody can
work. We have no workaround.

Jeroen
""",
)

NL_PLATFORM_DOWN = Report(
    "Storing: platform ligt plat",
    """Beste,

Sinds 9u ligt het volledige platform stil. Alle gebruikers krijgen een foutmelding bij het
inloggen en we kunnen niet werken. Er is geen workaround.

Graag dringend actie.

Met vriendelijke groeten,
Jan de Vries

Op ma 3 jun 2024 om 08:12 schreef Support <support@example.com>:
> Dit is geen storing, enkel een vraag.
""",
)

NL_SLOW_WITH_WORKAROUND = Report(
    "Facturen aanmaken traag",
    """Hallo,

Het aanmaken van facturen is sinds vanmorgen erg traag voor sommige gebruikers. Er is een
workaround: via de oude module lukt het wel, maar dat kost veel tijd.

Groet,
Els
""",
)

NL_TYPO = Report(
    "Typfout op de loginpagina",
    """Hoi,

Op de loginpagina staat "Wachtwoort" in plaats van "Wachtwoord". Geen haast, het is
puur cosmetisch.

Groetjes,
Pieter
""",
    client_default=Priority.P2,
)

NL_MARKED_P2 = Report(
    "Re: [P2] Export naar Excel mislukt",
    """Dag support,

Prioriteit: P2

De export naar Excel geeft sinds gisteren een foutmelding (sommige gebruikers).

Mvg,
Karin
""",
)

FR_APP_DOWN = Report(
    "URGENT - application inaccessible",
    """Bonjour,

Depuis ce matin l'application est totalement inaccessible pour tous les utilisateurs.
Aucune solution de contournement n'a été trouvée et nos équipes ne peuvent pas travailler.

Cordialement,
Claire Dubois

Le lun. 3 juin 2024 à 08:12, Support <support@example.com> a écrit :
> Priorité : P4
""",
)

FR_SLOW_NOT_DOWN = Report(
    "Lenteurs sur la recherche",
    """Bonjour à tout le monde,

La recherche est très lente depuis la mise à jour, et parfois elle ne répond pas du tout.
Ce n'est pas une panne complète, le reste fonctionne.

Merci,
Julien
""",
)

FR_SINGLE_USER_LOW = Report(
    "Problème de connexion",
    """Bonjour,

Un seul utilisateur (moi) ne peut plus se connecter depuis hier ; mes collègues n'ont
aucun problème.
Impact : faible

Bien à vous,
Sophie
""",
)

FR_DATA_LEAK = Report(
    "Fuite de données ?",
    """Bonjour,

Un client nous signale qu'il voit les factures d'un autre client : il s'agit
probablement d'une fuite de données. Il y a un contournement (désactiver la page), mais
c'est grave.

Cordialement,
Luc
""",
)

SLACK_MESSAGE = Report(
    "",
    "[P2] hey folks, the API is intermittently timing out for some of our users :(",
)


@pytest.mark.parametrize(
    ("report", "priority", "decided_by", "quoted"),
    [
        (EN_CHECKOUT_DOWN, P1, "impact-urgency", ("'all customers'", "'standstill'")),
        (EN_SINGLE_USER, P3, "impact-urgency", ("'only my account' (single user)",)),
        (EN_HOWTO, P4, "impact-urgency", ("'quick question' (minimal)",)),
        (EN_SLOW_WITH_SEVERITY, P2, "client-assessment", ("'Severity: high'",)),
        (EN_MARKED_LOW_BUT_OUTAGE, P4, "explicit-marker", ("[P4]",)),
        (NL_PLATFORM_DOWN, P1, "impact-urgency", ("'Alle gebruikers'", "'geen workaround'")),
        (NL_SLOW_WITH_WORKAROUND, P3, "impact-urgency", ("lowers P2 to P3",)),
        (NL_TYPO, P4, "impact-urgency", ("'Typfout' (minimal)", "'cosmetisch'")),
        (NL_MARKED_P2, P2, "explicit-marker", ("[P2]", "'Prioriteit: P2'")),
        (FR_APP_DOWN, P1, "client-assessment", ("'URGENT'", "'tous les utilisateurs'")),
        (FR_SLOW_NOT_DOWN, P2, "impact-urgency", ("'Lenteurs' (partial)", "'lente'")),
        (FR_SINGLE_USER_LOW, P4, "client-assessment", ("'Impact : faible'",)),
        (FR_DATA_LEAK, P1, "impact-urgency", ("'fuite de données' (security/data loss)",)),
        (SLACK_MESSAGE, P2, "explicit-marker", ("[P2]", "'intermittently' (partial)")),
    ],
)
def test_realistic_reports(
    report: Report, priority: Priority, decided_by: str, quoted: tuple[str, ...]
) -> None:
    result = classify(report)
    assert result.priority is priority, result.summary()
    assert result.reasons[0].rule == decided_by
    text = " | ".join(r.text for r in result.reasons)
    for phrase in quoted:
        assert phrase in text


def test_quoted_history_does_not_leak_old_markers() -> None:
    for report in (EN_CHECKOUT_DOWN, FR_APP_DOWN):
        assert not any("P4" in r.text for r in classify(report).reasons)


def test_a_header_does_not_change_a_clear_p1() -> None:
    result = classify(EN_CHECKOUT_DOWN)
    assert result.priority is P1
    assert not any("raises" in r.text for r in result.reasons)


def test_greetings_and_negated_outages_are_not_evidence() -> None:
    result = classify(FR_SLOW_NOT_DOWN)
    text = " | ".join(r.text for r in result.reasons)
    assert "tout le monde" not in text
    assert "ignored 'panne' in body: negated" in text


def test_marked_low_but_outage_keeps_the_marker_and_flags_the_conflict() -> None:
    result = classify(EN_MARKED_LOW_BUT_OUTAGE)
    [conflict] = [r for r in result.reasons if r.rule == CONFLICT]
    assert "points to P1" in conflict.text
    assert result.confidence < classify(NL_MARKED_P2).confidence


def test_realistic_reports_when_the_provider_sets_priority() -> None:
    provider = {
        report: classify(
            Report(report.subject, report.body, report.headers, client_sets_priority=False)
        )
        for report in (EN_MARKED_LOW_BUT_OUTAGE, FR_SINGLE_USER_LOW, NL_MARKED_P2, FR_APP_DOWN)
    }
    assert provider[EN_MARKED_LOW_BUT_OUTAGE].priority is P1
    assert provider[FR_SINGLE_USER_LOW].priority is P3
    assert provider[NL_MARKED_P2].priority is P2
    assert provider[FR_APP_DOWN].priority is P1
    for result in provider.values():
        assert result.reasons[0].rule == "impact-urgency"
        advisory = [r for r in result.reasons if "advisory" in r.text]
        assert advisory
        assert all(r.rule in ("explicit-marker", "client-assessment") for r in advisory)
