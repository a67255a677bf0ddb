"""strip_quoted: the new part of a reply in EN/NL/FR/DE, on hand-written and corpus replies."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.mail import parse_message, strip_quoted
from tests.conftest import missing_peer

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def corpus_file(relative: str) -> Path:
    if not CORPUS.is_dir():
        missing_peer(f"mail corpus not found at {CORPUS}")
    return CORPUS / relative


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # EN, Gmail
            "Restarted it, works now.\n\nOn Mon, 3 Jun 2024 at 08:12, Support "
            "<support@provider.example> wrote:\n> Can you restart the service?\n>\n> Regards",
            "Restarted it, works now.",
        ),
        (  # EN, Gmail wraps a long attribution over two lines
            "Done.\n\nOn Wed, May 18, 2016 at 11:10 PM Steven Scott <notifications@github.com>\n"
            "wrote:\n\nThe old message, not quoted with >.\n",
            "Done.",
        ),
        (  # NL, Outlook/Gmail
            "Het werkt weer, bedankt!\n\nOp ma 3 jun. 2024 om 08:12 schreef Support "
            "<support@provider.example>:\n> Kunt u de dienst herstarten?",
            "Het werkt weer, bedankt!",
        ),
        (  # FR, Gmail
            "Merci, c'est réglé.\n\nLe lun. 3 juin 2024 à 08:12, Support "
            "<support@provider.example> a écrit :\n> Pouvez-vous redémarrer ?",
            "Merci, c'est réglé.",
        ),
        (  # DE, Thunderbird
            "Danke, läuft wieder.\n\nAm 03.06.2024 um 08:12 schrieb Support:\n"
            "> Können Sie den Dienst neu starten?",
            "Danke, läuft wieder.",
        ),
        (  # EN Outlook header block after a separator
            "Please close the ticket.\n\n________________________________\nFrom: Support "
            "<support@provider.example>\nSent: Monday, June 3, 2024 8:12 AM\nTo: Ann\n"
            "Subject: RE: [T-1042] Server down\n\nIs it solved?",
            "Please close the ticket.",
        ),
        (  # NL Outlook
            "Graag sluiten.\n\nVan: Support <support@provider.example>\nVerzonden: maandag 3 "
            "juni 2024 08:12\nAan: Ann\nOnderwerp: RE: [T-1042] Server down\n\nIs het opgelost?",
            "Graag sluiten.",
        ),
        (  # FR Outlook, with the French space before the colon
            "Vous pouvez clôturer.\n\nDe : Support <support@provider.example>\nEnvoyé : lundi "
            "3 juin 2024 08:12\nÀ : Ann\nObjet : RE: [T-1042] Serveur en panne\n\nRésolu ?",
            "Vous pouvez clôturer.",
        ),
        (  # DE Outlook
            "Bitte schließen.\n\nVon: Support <support@provider.example>\nGesendet: Montag, 3. "
            "Juni 2024 08:12\nAn: Ann\nBetreff: AW: [T-1042] Server down\n\nGelöst?",
            "Bitte schließen.",
        ),
        (  # "-----Original Message-----"
            "See below.\n\n-----Original Message-----\nFrom: x@y.example\nSent: today\n\nold",
            "See below.",
        ),
        (  # signature
            "Works now.\n\n-- \nAnn Client\nACME",
            "Works now.",
        ),
        (  # mobile signature before a quote
            "Yes\n\nSent from my iPhone\n\nOn Apr 3, 2012, at 4:19 PM, bob <bob@example.com> "
            "wrote:\n\n> Hi",
            "Yes",
        ),
    ],
)
def test_quoted_history_is_removed(text: str, expected: str) -> None:
    assert strip_quoted(text) == expected


def test_inline_answers_between_quotes_are_kept() -> None:
    text = (
        "On Tue, Apr 29, 2014 at 4:22 PM, Support <s@provider.example> wrote:\n\n"
        "> Is the VPN up?\n\nYes, since 9:00.\n\n> And the mail server?\n\nStill down.\n"
    )
    assert strip_quoted(text) == "Yes, since 9:00.\n\nStill down."


def test_greeting_above_an_attribution_is_kept() -> None:
    text = "Hi,\nOn Tue, 2011-03-01 at 18:02 +0530, Ann wrote:\n> question\n\nAnswer here."
    assert strip_quoted(text) == "Hi,\n\nAnswer here."


def test_forwarded_messages_are_content() -> None:
    text = (
        "Please look at this error.\n\n---------- Forwarded message ---------\n"
        "From: Monitoring <alerts@client.example>\nDate: Mon, Jun 3, 2024 at 8:00 AM\n"
        "Subject: CRITICAL disk full\nTo: Ann <ann@client.example>\n\n/var is 100% full\n"
    )
    assert strip_quoted(text) == text.strip()


def test_prose_is_not_mistaken_for_history() -> None:
    text = (
        "On the server side nothing changed.\nFrom: our side, all good.\n"
        "My colleague wrote:\nit fails since Monday.\n"
    )
    assert strip_quoted(text) == text.strip()


def test_never_empty_when_there_was_text() -> None:
    only_quote = "> everything is quoted\n> here"
    assert strip_quoted(only_quote) == only_quote
    assert strip_quoted("-- \nsignature only") == "-- \nsignature only"
    assert strip_quoted("") == ""
    assert strip_quoted("  \n ") == ""


def test_crlf_input() -> None:
    text = "Fixed.\r\n\r\nOn Mon, 3 Jun 2024, Ann <a@b.example> wrote:\r\n> old\r\n"
    assert strip_quoted(text) == "Fixed."


REPLY_PARSER_BODIES = {
    "email_1_2.txt": ("Hi,\n\nYou can list the keys", 'individually."', ["Hi folks", "riak-users"]),
    "email_1_3.txt": ("Oh thanks.", "-Abhishek Kona", ["Russell Brown", "riak-users"]),
    "email_1_8.txt": ("I will reply under this one", "and under this.", ["okay?", "signature"]),
    "email_2_1.txt": ("Outlook with a reply", "Outlook with a reply", ["Google Apps Sync"]),
    "email_2_3.txt": ("Outlook with a reply above", "unusual format", ["Kim"]),
    "email_gmail.txt": ("This is a test for inbox", "github message.", ["outdated"]),
    "email_headers_no_delimiter.txt": ("And another reply!", "And another reply!", ["A reply"]),
    "email_partial_quote_header.txt": ("On your remote host", "not working.", ["odd issue"]),
}


@pytest.mark.parametrize("name", sorted(REPLY_PARSER_BODIES))
def test_email_reply_parser_bodies(name: str) -> None:
    start, end, gone = REPLY_PARSER_BODIES[name]
    reply = strip_quoted(corpus_file(f"email-reply-parser/{name}").read_text(encoding="utf-8"))
    assert reply.startswith(start)
    assert reply.endswith(end)
    for quoted in gone:
        assert quoted not in reply


TALON_REPLIES = [
    "standard_replies__android.eml",
    "standard_replies__aol.eml",
    "standard_replies__apple_mail.eml",
    "standard_replies__apple_mail_2.eml",
    "standard_replies__comcast.eml",
    "standard_replies__gmail.eml",
    "standard_replies__hotmail.eml",
    "standard_replies__iphone.eml",
    "standard_replies__outlook.eml",
    "standard_replies__sparrow.eml",
    "standard_replies__thunderbird.eml",
    "standard_replies__yahoo.eml",
]


@pytest.mark.parametrize("name", TALON_REPLIES)
def test_talon_standard_replies(name: str) -> None:
    parsed = parse_message(corpus_file(f"talon/{name}").read_bytes())
    assert parsed.text != "Hello"  # the quoted history was there
    assert strip_quoted(parsed.text) == "Hello"


def test_talon_yahoo_share_block() -> None:
    parsed = parse_message(corpus_file("talon/reply-quotations-share-block.eml").read_bytes())
    reply = strip_quoted(parsed.text)
    assert reply.startswith("Hi Katharine.")
    assert reply.endswith("Joe XXX")
    assert "New Booking Inquiry" not in reply and "wrote:" not in reply


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # ES, Gmail
            "Ya está, gracias.\n\nEl mar, 4 jun 2024 a las 9:30, Ana <ana@client.example> "
            "escribió:\n> ¿Sigue fallando?",
            "Ya está, gracias.",
        ),
        (  # ES, Outlook
            "Cerradlo.\n\nDe: Ana <ana@client.example>\nEnviado: martes, 4 de junio de 2024 "
            "9:30\nPara: Soporte\nAsunto: RE: Error\n\n¿Sigue fallando?",
            "Cerradlo.",
        ),
        (  # IT, Outlook
            "Chiudete pure.\n\nDa: Anna <anna@client.example>\nInviato: martedì 4 giugno 2024 "
            "09:30\nA: Supporto\nOggetto: R: Errore\n\nFunziona?",
            "Chiudete pure.",
        ),
        (  # PT, Gmail
            "Resolvido.\n\nEm ter., 4 de jun. de 2024 às 09:30, Ana <ana@client.example> "
            "escreveu:\n> Ainda falha?",
            "Resolvido.",
        ),
        (  # PT, Outlook
            "Obrigado.\n\nDe: Ana <ana@client.example>\nEnviado: terça-feira, 4 de junho de "
            "2024 09:30\nPara: Suporte\nAssunto: RE: Erro\n\nAinda falha?",
            "Obrigado.",
        ),
        (  # DA, Outlook
            "Tak.\n\nFra: Anne <anne@client.example>\nSendt: 4. juni 2024 09:30\nTil: Support\n"
            "Emne: SV: Fejl\n\nVirker det?",
            "Tak.",
        ),
        (  # SV, Outlook
            "Tack.\n\nFrån: Anna <anna@client.example>\nSkickat: den 4 juni 2024 09:30\n"
            "Till: Support\nÄmne: SV: Fel\n\nFungerar det?",
            "Tack.",
        ),
        (  # PL, Gmail
            "Dzięki.\n\nwt., 4 cze 2024 o 09:30 Anna <anna@client.example> napisała:\n"
            "> Nadal nie działa?",
            "Dzięki.",
        ),
        (  # PL, Outlook
            "Dziękuję.\n\nOd: Anna <anna@client.example>\nWysłano: wtorek, 4 czerwca 2024 09:30"
            "\nDo: Support\nTemat: RE: Błąd\n\nNadal nie działa?",
            "Dziękuję.",
        ),
        (  # IT, mobile signature, then the attribution
            "Ok.\n\nInviato da iPhone\n\nIl giorno 4 giu 2024, alle ore 09:30, Anna "
            "<anna@client.example> ha scritto:\n\n> Possiamo procedere?",
            "Ok.",
        ),
    ],
)
def test_quoted_history_is_removed_in_more_languages(text: str, expected: str) -> None:
    assert strip_quoted(text) == expected


def test_a_greeting_line_is_not_a_header_block_in_other_languages() -> None:
    text = "Da: domani il server è giù.\nA: chi devo scrivere?\nOggetto: nessuno.\n"
    assert strip_quoted(text) == text.strip()  # no From-like line leads it: prose


@pytest.mark.parametrize(
    "marker",
    [
        "---------- Mensaje reenviado ---------",
        "---------- Messaggio inoltrato ---------",
        "---------- Mensagem encaminhada ---------",
        "---------- Vidarebefordrat meddelande ---------",
        "---------- Videresendt meddelelse ----------",
        "---------- Wiadomość przekazana ---------",
    ],
)
def test_forwarded_messages_in_more_languages_are_content(marker: str) -> None:
    text = (
        f"Mirad este error.\n\n{marker}\nDe: Monitor <alerts@client.example>\n"
        "Date: Mon, Jun 3, 2024 at 8:00 AM\nSubject: CRITICAL disk full\n"
        "To: Ana <ana@client.example>\n\n/var is 100% full\n"
    )
    assert strip_quoted(text) == text.strip()


def test_a_header_block_with_nothing_above_it_is_content() -> None:
    text = (
        "From: Ann <ann@client.example>\nSent: Monday, June 3, 2024 8:12 AM\nTo: Support\n"
        "Subject: Server down\n\nThe server is down since 8:00.\n\n"
        "On Mon, 3 Jun 2024 at 07:50, Bob <bob@client.example> wrote:\n> Is it up?\n"
    )
    assert strip_quoted(text) == text.split("\n\nOn Mon")[0]
