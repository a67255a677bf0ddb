"""The staff dashboard in a real browser: Debian's headless chromium, driven by Playwright
(launched at /usr/bin/chromium; no browser is downloaded). One browser for the module, a fresh
context (no cookies) per test. Screenshots of the queue and a ticket page are saved under
``artifacts/``."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from bot.priority import Priority
from tests.conftest import missing_peer
from tests.dashboard_site import PASSWORDS, Site, dashboard
from tests.mailbot import Bot, mail

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        missing_peer(f"{CHROMIUM} (Debian package chromium; tests/peers.sh installs it)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def site(bot: Bot) -> Iterator[Site]:
    with dashboard(bot.app.db, bot.app.helpdesk) as s:
        yield s


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone's width
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    try:
        yield pg
    finally:
        context.close()  # before the server stops: it ends the page's event stream


def sign_in(page: Page, site: Site, name: str = "alice") -> None:
    page.goto(f"{site.url}/")
    expect(page).to_have_url(f"{site.url}/login?next=/staff/")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORDS[name])
    page.keyboard.press("Enter")  # the keyboard is enough
    expect(page.get_by_role("heading", name="Queue")).to_be_visible()


def shot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def test_sign_in_then_the_queue_most_urgent_first(page: Page, site: Site, bot: Bot) -> None:
    h = bot.app.helpdesk
    low = h.register(subject="Typo on the invoice page", client="acme", priority=Priority.P4,
                     reason="t")
    high = h.register(subject="Checkout down for everyone", client="acme",
                      priority=Priority.P1, reason="t")
    mid = h.register(subject="Reports are slow", client="acme", priority=Priority.P2,
                     reason="t")
    bot.clock.advance(timedelta(minutes=100))  # 20 of the P1 response clock's 2h left
    page.goto(f"{site.url}/login")
    page.get_by_label("Name").fill("alice")
    page.get_by_label("Password").fill("wrong password!")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong name or password.")
    sign_in(page, site)
    refs = page.locator("table.queue tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.ref)")
    assert refs == [high.reference, mid.reference, low.reference]
    expect(page.locator(f'tr[data-ref="{high.reference}"]')).to_have_class("u-at-risk")
    shot(page, "dashboard-queue.png")


def test_a_button_changes_the_ticket_and_its_event_log(page: Page, site: Site,
                                                      bot: Bot) -> None:
    v = bot.app.helpdesk.register(subject="Login broken", client="acme",
                                  priority=Priority.P2, reason="t")
    sign_in(page, site)
    page.get_by_role("link", name=v.reference).click()
    expect(page.locator("#assignee")).to_have_text("nobody")
    page.get_by_role("button", name="Take it").click()
    expect(page.locator("#flash")).to_have_text(f"{v.reference} taken")
    expect(page.locator("#assignee")).to_have_text("alice")
    form = page.locator("form.act-pause")
    form.get_by_label("reason").fill("waiting for the client's logs")
    form.get_by_role("button", name="Pause").click()
    expect(page.locator("#status")).to_have_text("paused")
    log = page.locator("#events tbody tr").first
    expect(log).to_contain_text("paused")
    expect(log).to_contain_text("alice (web)")
    expect(log).to_contain_text("waiting for the client's logs")
    t = bot.app.helpdesk.show(v.reference).ticket
    assert (t.status, t.assignee) == ("paused", "alice")
    shot(page, "dashboard-ticket.png")


def test_the_queue_updates_when_a_mail_arrives(page: Page, site: Site, bot: Bot) -> None:
    sign_in(page, site)
    expect(page.locator("#summary")).to_contain_text("0 open tickets")
    page.evaluate("window.notReloaded = true")
    bot.send(mail("jo@acme.example", "Production is down", "Nothing works since 9:00."))
    [outcome] = bot.process()
    ref = outcome.reference
    assert ref
    expect(page.locator(f'tr[data-ref="{ref}"]')).to_contain_text("Production is down")
    assert page.evaluate("window.notReloaded") is True  # swapped in, not reloaded


def test_a_clients_script_and_html_render_inert(page: Page, site: Site, bot: Bot) -> None:
    subject = '<script>window.pwned = "subject"</script><b id="bold">bold</b>'
    body = ('<img src=x onerror="window.pwned = \'body\'">\n<script>window.pwned = "body"'
            '</script>\n<a href="javascript:alert(1)" id="link">click</a>')
    bot.send(mail("jo@acme.example", subject, body))
    [outcome] = bot.process()
    sign_in(page, site)
    row = page.locator(f'tr[data-ref="{outcome.reference}"]')
    expect(row).to_contain_text('<script>window.pwned = "subject"</script>')
    page.goto(f"{site.url}/tickets/{outcome.reference}")
    expect(page.locator("#subject")).to_have_text(subject)
    expect(page.get_by_text('<img src=x onerror="window.pwned', exact=False).first) \
        .to_be_visible()
    assert page.locator("#bold").count() == 0 and page.locator("#link").count() == 0
    assert page.locator("main img").count() == 0
    assert page.evaluate("typeof window.pwned") == "undefined"


def test_a_post_without_its_csrf_token_is_refused(page: Page, site: Site, bot: Bot) -> None:
    v = bot.app.helpdesk.register(subject="Printer", client="acme", priority=Priority.P3,
                                  reason="t")
    sign_in(page, site)
    page.goto(f"{site.url}/tickets/{v.reference}")
    page.locator("form.act-resolve input[name=csrf]").evaluate("e => e.remove()")
    page.locator("form.act-resolve").get_by_role("button", name="Resolve").click()
    expect(page.locator("body")).to_contain_text("refused: the form's CSRF token")
    assert bot.app.helpdesk.show(v.reference).ticket.status == "new"
