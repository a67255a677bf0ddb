"""The impact-urgency rule: what the report says about who is affected and how badly.

Impact and urgency phrases (English, Dutch, French) are combined as the policy defines P1-P4:

- security breach or data loss                          -> P1 (a workaround does not lower it)
- widespread impact and blocking (no workaround)        -> P1
- widespread impact, or blocking alone                  -> P2
- partial degradation (some users, slow, intermittent)  -> P2
- a single user affected                                -> P3 (major degradation for one user)
- minimal (typo, question, feature request)             -> P4
- a stated workaround lowers the result by one level, never below P4.

An outage or 'production' limited to a single user is single-user impact; a question or typo
about production is still minimal, unless the text also reports an outage or blocking.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.classify.model import Reason, Report, Stage
from bot.classify.text import Hit, Term, compile_terms, find_terms, sources
from bot.priority import Priority

SEVERE = "security/data loss"
WIDESPREAD = "widespread"
OUTAGE = "outage"
PRODUCTION = "production"
PARTIAL = "partial"
SINGLE = "single user"
MINIMAL = "minimal"
BLOCKING = "blocking"
WORKAROUND = "workaround"

GREETINGS = (
    "hi", "hello", "hey", "dear", "morning", "afternoon", "evening", "thanks", "thank", "you",
    "hallo", "hoi", "beste", "dag", "goedemorgen", "goedemiddag", "bedankt", "dank",
    "bonjour", "salut", "merci", "a",
)  # fmt: skip
"""Words before 'everyone' / 'iedereen' / 'tout le monde' that make it a salutation."""

DOWN_AFTER = (
    "is", "are", "was", "were", "been", "be", "being", "went", "goes", "go", "gone", "seems",
    "it's", "site", "website", "server", "servers", "service", "services", "production", "prod",
    "app", "application", "api", "platform", "system", "systems", "portal", "database", "db",
    "shop", "webshop", "everything", "mail", "email", "network", "login", "checkout", "backend",
    "frontend", "vpn", "sso", "productie", "applicatie", "site's",
)  # fmt: skip
"""'down' is an outage only after one of these ('site is down', 'API down'), not 'scroll down'."""

STORING_NOT_AFTER = ("for", "is", "are", "was", "by", "and", "when", "while", "of", "been")
STORING_NOT_BEFORE = (
    "data", "the", "files", "passwords", "it", "them", "user", "users", "personal", "sensitive",
    "credentials", "cookies", "tokens", "information", "this", "that", "their", "your", "our",
)  # fmt: skip
"""Keep the English gerund 'storing data' from reading as the Dutch 'storing' (outage)."""

TERMS = (
    # security breach or data loss: P1 on its own
    *(Term(p, SEVERE) for p in (
        "data loss", "lost data", "lost all data", "data was lost", "data corruption",
        "corrupted data", "security breach", "data breach", "security incident", "data leak",
        "security leak", "leaked data", "security vulnerability", "security hole", "hacked",
        "dataverlies", "gegevensverlies", "data kwijt", "gegevens kwijt", "datalek",
        "beveiligingslek", "beveiligingsincident", "gehackt",
        "perte de donnees", "donnees perdues", "faille de securite", "fuite de donnees",
        "violation de donnees", "incident de securite", "piratage",
    )),
    # widespread: who is affected
    *(Term(p, WIDESPREAD) for p in (
        "all users", "all our users", "all of our users", "all the users", "all customers",
        "all our customers", "all of our customers", "all clients", "all employees",
        "all staff", "every user", "nobody can", "no one can", "no-one can", "whole site",
        "entire site", "whole platform", "entire platform", "whole company", "entire company",
        "company wide", "alle gebruikers", "al onze gebruikers", "alle klanten",
        "alle medewerkers", "niemand kan", "hele site", "hele website", "hele platform",
        "hele bedrijf", "tous les utilisateurs", "tous nos utilisateurs", "tous les clients",
        "tous nos clients", "personne ne peut", "tout le site", "toute la plateforme",
        "l'ensemble des utilisateurs",
    )),
    *(Term(p, WIDESPREAD, not_after=GREETINGS, not_before=("else", "anders", "sauf"))
      for p in ("everyone", "everybody", "iedereen", "tout le monde")),
    # outage: the service itself is down
    *(Term(p, OUTAGE) for p in (
        "service down", "outage", "downtime", "not reachable", "unreachable",
        "cannot be reached", "can't be reached", "not accessible", "inaccessible",
        "unavailable", "service unavailable", "bad gateway",
        "ligt * plat", "ligt eruit", "storingen", "niet bereikbaar",
        "onbereikbaar", "niet beschikbaar", "onbeschikbaar",
        "panne", "en panne", "hors service", "hors ligne", "indisponible", "ne repond plus",
        "interruption de service",
    )),
    Term("down", OUTAGE, only_after=DOWN_AFTER),
    Term("storing", OUTAGE, not_after=STORING_NOT_AFTER, not_before=STORING_NOT_BEFORE),
    # production: the live environment is affected
    *(Term(p, PRODUCTION) for p in (
        "production", "prod", "production environment", "productie", "productieomgeving",
        "environnement de production",
    )),
    # partial: some users, or degraded
    *(Term(p, PARTIAL) for p in (
        "some users", "some of our users", "some customers", "several users",
        "several customers", "several people", "multiple users", "a few users", "slower",
        "slowness", "degraded", "degradation", "partially", "partial outage", "intermittent",
        "intermittently", "sometimes", "sporadically", "timeouts", "timeout", "timing out",
        "times out",
        "sommige gebruikers", "een aantal gebruikers", "enkele gebruikers",
        "meerdere gebruikers", "traag", "trager", "langzaam", "gedeeltelijk", "deels", "soms",
        "af en toe", "time-outs",
        "certains utilisateurs", "quelques utilisateurs", "plusieurs utilisateurs", "lent",
        "lente", "lenteur", "lenteurs", "partiellement", "degrade", "degradee",
        "intermittente", "par intermittence", "parfois",
    )),
    Term("slow", PARTIAL, not_before=("down",)),
    # a single user
    *(Term(p, SINGLE) for p in (
        "one user", "a single user", "only one user", "one customer", "a single customer",
        "only me", "only for me", "just me", "only my account", "my account",
        "een gebruiker", "1 gebruiker", "slechts een gebruiker", "alleen ik", "alleen bij mij",
        "alleen mijn account", "mijn account",
        "un seul utilisateur", "un utilisateur", "seulement moi", "uniquement moi",
        "que moi", "mon compte",
    )),
    # minimal: no considerable reduction of the service
    *(Term(p, MINIMAL, not_after=("in", "en", "no")) for p in ("question", "quick question")),
    Term("how to", MINIMAL, not_before=("reproduce", "repro", "trigger", "fix", "solve")),
    *(Term(p, MINIMAL) for p in (
        "typo", "typos", "cosmetic", "spelling mistake", "misspelled", "how do i", "how can i",
        "feature request", "suggestion", "nice to have", "would be nice",
        "vraag", "vraagje", "typfout", "tikfout", "spelfout", "hoe kan ik", "hoe moet ik",
        "hoe doe ik", "suggestie", "cosmetisch",
        "faute de frappe", "coquille", "comment faire", "comment puis je",
        "comment est ce que", "comment peut on", "demande d'evolution",
        "demande de fonctionnalite", "cosmetique",
    )),
    # urgency: blocking, no workaround, work has stopped
    *(Term(p, BLOCKING) for p in (
        "blocking", "blocker", "blocked", "no * workaround", "no work around",
        "without * workaround", "cannot work", "can't work", "can not work", "unable to work",
        "nobody can work", "business stopped", "business has stopped", "business is stopped",
        "standstill", "operations stopped", "operations have stopped", "work has stopped",
        "blokkerend", "blokkeert", "geblokkeerd", "geen * workaround", "zonder * workaround",
        "geen * omweg", "kunnen niet * werken", "kan niet * werken", "ligt stil", "stilstand",
        "bloquant", "bloquante", "bloque", "bloques", "aucun * contournement",
        "aucune * contournement", "pas de * contournement", "sans * contournement",
        "impossible de travailler", "ne pouvons pas travailler", "ne peuvent pas travailler",
        "a l'arret",
    )),
    # a stated workaround (a question about one does not count)
    *(Term(p, WORKAROUND, statement=True) for p in (
        "workaround", "work around", "workarounds", "omweg", "contournement",
        "contournement possible", "solution de contournement",
    )),
)  # fmt: skip

COMPILED = compile_terms(TERMS)

IMPACT_ORDER = (SEVERE, WIDESPREAD, OUTAGE, PRODUCTION, SINGLE, PARTIAL, MINIMAL)
SHOWN_PER_CATEGORY = 2

P1, P2, P3, P4 = Priority.P1, Priority.P2, Priority.P3, Priority.P4


class ImpactUrgency:
    """Weigh what the text says about impact and urgency, as the policy defines P1-P4."""

    name = "impact-urgency"
    description = "Impact (widespread, partial, single user, minimal) x urgency (blocking)."
    stage = Stage.EVIDENCE

    def check(self, report: Report) -> list[Reason]:
        hits = [hit for source in sources(report) for hit in find_terms(source, COMPILED)]
        found: dict[str, list[Hit]] = {}
        for hit in hits:
            if not hit.negated:
                found.setdefault(hit.term.category, []).append(hit)
        reasons = []
        verdict = _verdict(found)
        if verdict is not None:
            priority, weight, used = verdict
            reasons.append(Reason(self.name, _describe(found, used, priority), priority, weight))
        elif WORKAROUND in found:
            text = f"stated workaround {_quotes(found[WORKAROUND])}, but no impact to lower"
            reasons.append(Reason(self.name, text, None, 0.0))
        for hit in hits:
            if hit.negated:
                text = f"ignored '{hit.quote}' in {hit.where}: negated"
                reason = Reason(self.name, text, None, 0.0)
                if reason not in reasons:
                    reasons.append(reason)
        return reasons


def _verdict(found: dict[str, list[Hit]]) -> tuple[Priority, float, tuple[str, ...]] | None:
    """(priority, weight, categories used) from the categories found, or None."""
    has = found.__contains__
    if has(SEVERE):
        return P1, 0.8, (SEVERE,)
    urgent = (BLOCKING,) if has(BLOCKING) else ()
    if has(MINIMAL) and not (has(OUTAGE) or has(BLOCKING)):
        return _lowered(found, P4, 0.65, (MINIMAL,))
    if has(SINGLE) and not has(WIDESPREAD):
        return _lowered(found, P3, 0.65, (SINGLE, *urgent))
    wide = tuple(c for c in (WIDESPREAD, OUTAGE, PRODUCTION) if has(c))
    if wide:
        if urgent:
            return _lowered(found, P1, 0.8, (*wide, *urgent))
        weight = 0.6 if wide == (PRODUCTION,) else 0.7
        return _lowered(found, P2, weight, wide)
    if has(PARTIAL):
        return _lowered(found, P2, 0.65, (PARTIAL, *urgent))
    if urgent:
        return _lowered(found, P2, 0.6, urgent)
    return None


def _lowered(
    found: dict[str, list[Hit]], priority: Priority, weight: float, used: tuple[str, ...]
) -> tuple[Priority, float, tuple[str, ...]]:
    """Lower by one level for a stated workaround; corroborating phrases add strength."""
    if WORKAROUND in found:
        priority, used = priority.lowered(), (*used, WORKAROUND)
    phrases = sum(len(found[c]) for c in used if c != WORKAROUND)
    return priority, round(min(0.8, weight + (0.05 if phrases >= 3 else 0.0)), 2), used


def _describe(found: dict[str, list[Hit]], used: Sequence[str], priority: Priority) -> str:
    impact = [c for c in IMPACT_ORDER if c in used]
    parts = []
    if impact:
        parts.append("impact: " + ", ".join(_quotes(found[c], c) for c in impact))
    if BLOCKING in used:
        parts.append("urgency: " + _quotes(found[BLOCKING], BLOCKING))
    if WORKAROUND in used:
        lowered_from = priority.raised()
        workaround = _quotes(found[WORKAROUND])
        parts.append(f"stated workaround {workaround} lowers {lowered_from} to {priority}")
    return "; ".join(parts)


def _quotes(hits: Sequence[Hit], label: str = "") -> str:
    shown = []
    for hit in hits:
        quoted = f"'{hit.quote}'" + (f" ({label})" if label else "") + f" in {hit.where}"
        if quoted not in shown:
            shown.append(quoted)
    more = len(shown) - SHOWN_PER_CATEGORY
    return ", ".join(shown[:SHOWN_PER_CATEGORY]) + (f" (+{more} more)" if more > 0 else "")
