"""Realistic mail for the intake benchmark: EN/NL/FR reports, replies, auto-replies, corpus files,
and the backlog mix of section 3."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, make_msgid
from pathlib import Path

SUPPORT = "support@provider.example"
PHONE = "+3216000000"
CORPUS = Path("/work/shared/corpus")
CLIENT_DOMAINS = ("acme.example", "globex.example")
UNKNOWN_DOMAINS = ("gmail.example", "outlook.example", "telenet.example", "orange.example")

REPORTS: dict[str, list[tuple[str, str]]] = {
    "en": [
        ("Production down: checkout returns 500",
         "Since 08:30 every customer gets an error 500 at checkout. No workaround, we are "
         "losing orders."),
        ("Cannot log in since this morning",
         "None of our users can log in since about 9 o'clock. The page keeps loading."),
        ("Invoice PDF export is empty",
         "When I export an invoice to PDF the file is empty (0 bytes). Tried on two invoices."),
        ("Dashboard very slow for all users",
         "The dashboard takes more than 30 seconds to load, for everyone in the office."),
        ("Password reset mail never arrives",
         "Two colleagues asked for a password reset an hour ago; no mail arrived, not in spam."),
        ("API returns 429 for our integration",
         "Our nightly sync gets HTTP 429 after a few hundred calls. It worked last week."),
        ("Question about user roles",
         "Can a team lead see the reports of another team? We would like to restrict that."),
        ("Typo on the pricing page", "The pricing page says 'anual' instead of 'annual'."),
        ("Feature request: dark mode", "Several of us would love a dark mode. Any plans?"),
        ("Scheduled reports stopped working",
         "The weekly report was not sent on Monday. Other scheduled mails work."),
    ],
    "nl": [
        ("Storing: niemand kan inloggen",
         "Sinds vanochtend kan niemand van ons team inloggen. Foutmelding: sessie verlopen."),
        ("Facturen worden niet verstuurd",
         "De facturen van deze maand zijn niet naar de klanten verstuurd. Kunnen jullie "
         "dringend kijken?"),
        ("Trage laadtijden in het dashboard",
         "Het dashboard laadt erg traag, soms meer dan een minuut. Dit is voor iedereen zo."),
        ("Vraag over gebruikersrechten",
         "Hoe geef ik een collega alleen leesrechten op de projecten van zijn afdeling?"),
        ("Export naar Excel geeft een fout",
         "Bij het exporteren naar Excel krijg ik 'onverwachte fout'. Gisteren werkte het nog."),
        ("Website ligt plat",
         "Onze webshop geeft een witte pagina. Klanten kunnen niet bestellen."),
    ],
    "fr": [
        ("Panne : le site est inaccessible",
         "Depuis 9 h le site affiche une erreur 503. Nos clients ne peuvent plus commander."),
        ("Impossible de se connecter",
         "Aucun utilisateur ne peut se connecter depuis ce matin. Le mot de passe est refusé."),
        ("Les factures ne sont pas envoyées",
         "Les factures générées hier ne sont pas parties. Pouvez-vous vérifier rapidement ?"),
        ("Question sur les droits d'accès",
         "Est-il possible de limiter l'accès d'un utilisateur à un seul projet ?"),
        ("Lenteur de l'application",
         "L'application est très lente depuis la mise à jour de mardi, pour tout le monde."),
        ("Erreur lors de l'export PDF",
         "L'export PDF échoue avec « erreur inconnue ». Merci de votre aide."),
    ],
}
SIGN = {"en": "Kind regards", "nl": "Met vriendelijke groeten", "fr": "Cordialement"}
NAMES = ("Jo Peeters", "An Claes", "Marie Dubois", "Tom Janssens", "Luc Martin", "Eva Maes",
         "Sofie Wouters", "Pierre Lambert", "Nina Jacobs", "Karel Smets")
DATE = datetime(2026, 11, 23, 8, 55, tzinfo=UTC)


def _finish(m: EmailMessage) -> bytes:
    return m.as_bytes(policy=SMTP_POLICY)  # CRLF line ends, as on the wire


def new_report(rng: random.Random, sender: str, *, html: bool = False) -> tuple[bytes, str, str]:
    """A new report; returns (raw, Message-ID, Subject)."""
    lang = rng.choice(("en", "en", "nl", "fr"))
    subject, body = rng.choice(REPORTS[lang])
    if rng.random() < 0.5:
        subject = f"{subject} ({rng.choice(('urgent', 'prod', 'team B', 'site 2', 'v4.2'))})"
    name = rng.choice(NAMES)
    m = EmailMessage()
    m["From"] = f"{name} <{sender}>"
    m["To"] = SUPPORT
    m["Subject"] = subject
    m["Date"] = format_datetime(DATE)
    mid = make_msgid(domain=sender.rpartition("@")[2])
    m["Message-ID"] = mid
    text = f"Hello,\n\n{body}\n\n{SIGN[lang]},\n{name}\n"
    if html:
        paras = "".join(f"<p>{line}</p>" for line in text.split("\n\n"))
        m.set_content(f"<html><body>{paras}</body></html>", subtype="html",
                      cte="quoted-printable")
    else:
        m.set_content(text, cte="quoted-printable")
    return _finish(m), mid, subject


def reply(rng: random.Random, sender: str, subject: str, in_reply_to: str | None,
          *, auto: bool = False) -> bytes:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = SUPPORT
    m["Subject"] = ("Automatic reply: " if auto else "Re: ") + subject
    m["Date"] = format_datetime(DATE)
    m["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    if in_reply_to:
        m["In-Reply-To"] = in_reply_to
        m["References"] = in_reply_to
    if auto:
        m["Auto-Submitted"] = "auto-replied"
        m.set_content("I am out of the office until Monday 30 November with limited access to "
                      "mail.\nFor urgent matters please call the office.\n")
    else:
        extra = rng.choice(("It also happens on Firefox.", "Any news on this?",
                            "Hier nog een screenshot van de fout.", "Toujours le même problème.",
                            "It works again for me, thanks."))
        m.set_content(f"{extra}\n\nOn Mon, 23 Nov 2026 at 09:10, Support wrote:\n"
                      f"> We have registered your report.\n> Kind regards\n",
                      cte="quoted-printable")
    return _finish(m)


def small_messages(n: int, tag: str, seed: int) -> list[tuple[bytes, str]]:
    """N distinct new reports for the acceptance levels: (raw, envelope sender)."""
    rng = random.Random(f"{seed}-{tag}")
    out = []
    for i in range(n):
        domain = CLIENT_DOMAINS[i % 2] if i % 7 else UNKNOWN_DOMAINS[i % 4]
        sender = f"user{i % 97}.{tag}@{domain}"
        raw, _, _ = new_report(rng, sender, html=i % 13 == 0)
        out.append((raw, sender))
    return out


def corpus_messages(max_bytes: int = 64 * 1024) -> list[tuple[str, bytes]]:
    """(category, raw) of corpus files that are whole messages, each file once."""
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.is_file():
        return []
    wanted = {"bounce", "autoreply", "html", "plain", "charset", "reply-chain"}
    by_cat: dict[str, list[bytes]] = defaultdict(list)
    for line in manifest.read_text().splitlines()[1:]:
        parts = line.split("\t")
        if len(parts) < 5 or parts[4] not in wanted or parts[1] == "zapier/email-reply-parser":
            continue  # email-reply-parser's files are bodies without a header
        path = CORPUS / parts[0]
        if path.is_file() and path.stat().st_size <= max_bytes:
            by_cat[parts[4]].append(path.read_bytes())
    out = []  # categories taken in turn, so a short backlog still gets some of each
    while any(by_cat.values()):
        for cat in sorted(by_cat):
            if by_cat[cat]:
                out.append((cat, by_cat[cat].pop(0)))
    return out


@dataclass
class Backlog:
    items: list[tuple[bytes, str]]
    kinds: Counter[str]


def make_backlog(n: int, seed: int, token_refs: Sequence[tuple[str, str]]) -> Backlog:
    """``token_refs``: (reference, requester) of existing tickets, for ``[T-...]`` replies."""
    rng = random.Random(seed)
    corpus = corpus_messages()[: n // 6]
    every = n // max(len(corpus), 1)
    items: list[tuple[bytes, str]] = []
    kinds: Counter[str] = Counter()
    reports: list[tuple[str, str, str]] = []  # (Message-ID, subject, sender)
    for i in range(n):
        if corpus and i % every == every // 2 and i // every < len(corpus):
            cat, raw = corpus[i // every]
            items.append((raw, "someone@corpus.example"))
            kinds[f"corpus {cat}"] += 1
            continue
        r = rng.random()
        if reports and r < 0.18:
            mid, subject, sender = rng.choice(reports[-200:])
            items.append((reply(rng, sender, subject, mid), sender))
            kinds["reply (In-Reply-To)"] += 1
        elif token_refs and r < 0.25:
            ref, requester = rng.choice(token_refs)
            items.append((reply(rng, requester, f"[{ref}] your report", None), requester))
            kinds["reply ([T-...] subject)"] += 1
        elif reports and r < 0.30:
            mid, subject, sender = rng.choice(reports[-200:])
            items.append((reply(rng, sender, subject, mid, auto=True), sender))
            kinds["out-of-office auto-reply"] += 1
        else:
            known = rng.random() < 0.85
            domain = rng.choice(CLIENT_DOMAINS if known else UNKNOWN_DOMAINS)
            sender = f"{rng.choice(NAMES).split()[0].lower()}{rng.randrange(150)}@{domain}"
            html = rng.random() < 0.10
            raw, mid, subject = new_report(rng, sender, html=html)
            reports.append((mid, subject, sender))
            items.append((raw, sender))
            kinds["new report, HTML only" if html else "new report (EN/NL/FR)"] += 1
    return Backlog(items, kinds)
