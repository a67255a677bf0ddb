"""The dashboard's other pages over HTTP, on a whole bot (real SMTP intake, outbox, storage):
clients and their report, reports and maintenance for managers only, the outbox and the
quarantine mended from their buttons."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from adapters.mail.inbound import Accepted
from adapters.web.dashboard.auth import hash_password
from tests.dashboard_site import Site, csrf_of, dashboard, sign_in
from tests.mailbot import Bot, mail


@pytest.fixture
def site(bot: Bot) -> Iterator[Site]:
    with dashboard(bot.app.db, bot.app.helpdesk, app=bot.app) as s:
        yield s


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as c:
        yield c


def test_reports_and_maintenance_are_for_managers(site: Site, http: httpx.Client) -> None:
    sign_in(http, site, "bob")
    for path in ("/reports", "/maintenance"):
        r = http.get(site.url + path)
        assert r.status_code == 403 and "Managers only" in r.text
    for path in ("/clients", "/reminders", "/quarantine", "/outbox"):
        assert http.get(site.url + path).status_code == 200, path
    assert 'href="/staff/reports"' not in http.get(site.url + "/").text
    http.cookies.clear()
    sign_in(http, site, "alice")
    for path in ("/reports", "/maintenance"):
        assert http.get(site.url + path).status_code == 200, path


def test_clients_show_the_period_so_far_and_its_report(site: Site, bot: Bot,
                                                       http: httpx.Client) -> None:
    bot.send(mail("jo@acme.example", "Checkout down", "All users get errors, no workaround"))
    bot.process()
    sign_in(http, site)
    page = http.get(site.url + "/clients").text
    assert 'href="/staff/clients/acme/report"' in page and "globex" in page
    report = http.get(site.url + "/clients/acme/report")
    assert report.status_code == 200 and "acme" in report.text
    assert "script-src" not in report.headers["content-security-policy"]
    assert "default-src 'none'" in report.headers["content-security-policy"]
    assert http.get(site.url + "/clients/nobody/report").status_code == 404


def test_outbox_drop_and_retry_from_the_buttons(site: Site, bot: Bot,
                                                http: httpx.Client) -> None:
    bot.send(mail("jo@acme.example", "Printer on fire", "Smoke everywhere"))
    bot.process()  # the acknowledgement waits in the outbox
    sign_in(http, site)
    page = http.get(site.url + "/outbox").text
    assert "pending" in page and "jo@acme.example" in page
    token = csrf_of(page)
    from adapters.outbox import admin

    [item] = admin.list_items(bot.app.db, kind="mail")
    assert http.post(f"{site.url}/outbox/{item.id}/drop").status_code == 403  # no token
    r = http.post(f"{site.url}/outbox/{item.id}/drop", data={"csrf": token})
    assert r.status_code == 303
    assert admin.show(bot.app.db, item.id).state == "dropped"
    assert "dropped by alice (web)" in admin.show(bot.app.db, item.id).last_error
    assert bot.deliver() == []  # a dropped mail never goes out
    http.post(f"{site.url}/outbox/{item.id}/retry", data={"csrf": token})
    assert admin.show(bot.app.db, item.id).state == "pending"
    [sent] = bot.deliver()
    assert sent["To"] == "jo@acme.example"
    # a second retry is refused with the reason on the page
    http.post(f"{site.url}/outbox/{item.id}/retry", data={"csrf": token})
    assert "has not failed and is not dropped" in http.get(site.url + "/outbox").text


def test_quarantine_retry_and_drop(site: Site, bot: Bot, http: httpx.Client) -> None:
    qid = bot.store.accept_now(Accepted(b"", "smtp", mail_from="x@nowhere.example"))
    bot.process()
    sign_in(http, site)
    page = http.get(site.url + "/quarantine").text
    assert f"<td>{qid}</td>" in page
    token = csrf_of(page)
    http.post(f"{site.url}/quarantine/{qid}/retry", data={"csrf": token})
    assert bot.app.quarantine.get(qid).state == "quarantined"  # still unreadable
    http.post(f"{site.url}/quarantine/{qid}/drop", data={"csrf": token})
    assert bot.app.quarantine.get(qid).state == "dropped"
    assert f"<td>{qid}</td>" not in http.get(site.url + "/quarantine").text


def test_a_manager_role_comes_from_staff_passwd(site: Site, bot: Bot,
                                                http: httpx.Client) -> None:
    from adapters.storage.staff_accounts import StaffAccounts

    StaffAccounts(bot.app.db).set_password("bob", hash_password("bob's long password"),
                                           at=bot.clock.now(), role="manager")
    sign_in(http, site, "bob")
    assert http.get(site.url + "/reports").status_code == 200
