"""The client status page in a real browser: Debian's headless Chromium, driven by Playwright
(``executable_path``, no browser download). A client's ``<script>`` and event-handler HTML in
the subject and body stay text and never run; the form, sent by the browser with its cookie and
CSRF key, adds the text to the ticket as a mail reply would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.storage import Database
from bot.model import EventKind
from tests.clientweb import WebBot, links_in, web_bot
from tests.conftest import missing_peer
from tests.mailbot import mail
from tests.mailpeers import LoopThread

CHROMIUM = Path("/usr/bin/chromium")
SUBJECT = ('Broken <script>document.title="owned";window.owned=1</script>'
           '<img src=x onerror="window.owned=2">')


@pytest.fixture
def wb(database: Database, loop: LoopThread) -> Iterator[WebBot]:
    yield from web_bot(database, loop)


def test_client_html_is_inert_in_chromium_and_the_form_adds_information(wb: WebBot,
                                                                         tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        missing_peer(f"{CHROMIUM} (Debian's chromium: tests/peers.sh installs it)")
    from playwright.sync_api import sync_playwright

    outcome, sent = wb.bot.roundtrip(mail("anna@acme.example", SUBJECT,
                                          'Body <script>window.owned=3</script> here'))
    ref = outcome.reference
    (url,) = links_in(sent[0])
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone's width
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(url)
            assert page.title().startswith(f"{ref}: Broken")
            assert page.evaluate("window.owned") is None, "client HTML ran in the page"
            assert page.locator("#subject").inner_text() == SUBJECT
            assert page.locator("img").count() == 0 and page.locator("script").count() == 0
            page.screenshot(path=str(tmp_path / "client-status.png"), full_page=True)
            page.fill("#text", "Second user affected <b>too</b>.")
            page.click("button[type=submit]")
            page.wait_for_url("**?sent=1")
            assert "your message was received" in page.inner_text("main")
        finally:
            browser.close()
    assert dialogs == []
    outcomes = wb.bot.process()
    assert [(o.state, o.action, o.reference) for o in outcomes] == [("done", "follow-up", ref)]
    t = wb.bot.app.helpdesk.show(ref).ticket
    (got,) = [e for e in t.events if e.kind == EventKind.MESSAGE_RECEIVED]
    assert got.data["text"].strip() == "Second user affected <b>too</b>."
