"""The staff dashboard over HTTP on a real socket: sign-in and its rate limit, sessions, CSRF,
the queue's order and filters, and the actions (the same service calls the CLI makes)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from adapters.storage import Database
from adapters.storage.staff_accounts import StaffAccounts
from adapters.web.dashboard.auth import hash_password
from bot.clock import ManualClock
from bot.errors import ConfigError
from bot.model import Channel
from bot.priority import Priority
from bot.services import Helpdesk
from config.settings import load_settings
from tests.dashboard_site import Site, csrf_of, dashboard, sign_in


@pytest.fixture
def site(database: Database, helpdesk: Helpdesk) -> Iterator[Site]:
    with dashboard(database, helpdesk, attempts=3) as s:
        yield s


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as c:
        yield c


def test_every_page_needs_a_signed_in_staff_member(site: Site, helpdesk: Helpdesk,
                                                   http: httpx.Client) -> None:
    v = helpdesk.register(subject="db down", client="acme", priority=Priority.P2,
                          reason="test")
    for path in ("/", f"/tickets/{v.reference}", "/queue/rows?priority=P1"):
        r = http.get(site.url + path)
        assert r.status_code == 303
        assert r.headers["location"].startswith("/staff/login?next=/staff")
    assert http.get(site.url + "/events", headers={"Accept": "text/event-stream"}) \
        .status_code == 401
    # a POST with the session's own token, but nobody signed in: refused, nothing changed
    token = csrf_of(http.get(site.url + "/login").text)
    r = http.post(f"{site.url}/tickets/{v.reference}/resolve", data={"csrf": token})
    assert r.status_code == 401
    assert helpdesk.show(v.reference).ticket.status == "new"


def test_sign_in_sets_a_signed_http_only_cookie_and_the_queue_shows(
        site: Site, http: httpx.Client) -> None:
    r = sign_in(http, site)
    assert r.status_code == 303 and r.headers["location"] == "/staff/"
    cookie = r.headers["set-cookie"]
    assert "supportbot_staff=" in cookie and "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    page = http.get(site.url + "/")
    assert page.status_code == 200 and "alice" in page.text and "(manager)" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    # a forged cookie is no session
    forged = httpx.Client(cookies={"supportbot_staff": "eyJzdGFmZiI6ICJhbGljZSJ9.x.y"})
    assert forged.get(site.url + "/").status_code == 303
    # signing out ends it
    http.post(site.url + "/logout", data={"csrf": csrf_of(page.text)})
    assert http.get(site.url + "/").status_code == 303


def test_wrong_passwords_are_limited_per_account_and_per_address(
        site: Site, http: httpx.Client, clock: ManualClock) -> None:
    for _ in range(3):
        assert sign_in(http, site, "bob", "not it").status_code == 401
    # the limit is reached: even the right password is refused until the window has passed
    r = sign_in(http, site, "bob")
    assert r.status_code == 429 and "Too many failed sign-ins" in r.text
    # the address is limited too: alice from the same address is refused for now
    assert sign_in(http, site, "alice").status_code == 429
    clock.advance(timedelta(minutes=16))
    assert sign_in(http, site, "bob").status_code == 303


def test_unknown_accounts_and_a_new_password_end_sessions(
        site: Site, http: httpx.Client, database: Database, clock: ManualClock) -> None:
    assert sign_in(http, site, "bob").status_code == 303
    assert http.get(site.url + "/").status_code == 200
    clock.advance(timedelta(minutes=1))
    StaffAccounts(database).set_password("bob", hash_password("a new long password"),
                                         at=clock.now())
    assert http.get(site.url + "/").status_code == 303  # the old session is over


def test_a_post_without_its_csrf_token_is_refused(site: Site, helpdesk: Helpdesk,
                                                  http: httpx.Client) -> None:
    v = helpdesk.register(subject="printer on fire", client="acme", priority=Priority.P3,
                          reason="test")
    sign_in(http, site)
    url = f"{site.url}/tickets/{v.reference}/resolve"
    assert http.post(url, data={"note": "done"}).status_code == 403
    assert http.post(url, data={"csrf": "guessed", "note": "done"}).status_code == 403
    assert helpdesk.show(v.reference).ticket.status == "new"
    # the sign-in form needs one too
    assert http.post(site.url + "/login", data={"name": "alice", "password": "x"}) \
        .status_code == 403


def test_actions_are_the_service_calls_with_the_staff_member_as_actor(
        site: Site, helpdesk: Helpdesk, http: httpx.Client) -> None:
    v = helpdesk.register(subject="login broken", client="acme", priority=Priority.P3,
                          reason="test")
    sign_in(http, site, "bob")
    page = http.get(f"{site.url}/tickets/{v.reference}")
    token = csrf_of(page.text)

    def act(name: str, **form: str) -> httpx.Response:
        return http.post(f"{site.url}/tickets/{v.reference}/{name}", data={"csrf": token,
                                                                             **form})
    assert act("take").status_code == 303
    act("priority", priority="P2", reason="whole team blocked")
    act("reply", message="We are on it.")
    act("pause", reason="waiting for the client's logs")
    act("resume")
    act("log-time", hours="1,5", note="debugging")
    act("note", text="looks like the cache")
    act("resolve", note="cache flushed")
    t = helpdesk.show(v.reference).ticket
    assert (t.assignee, t.priority, t.status) == ("bob", Priority.P2, "resolved")
    mine = [(e.kind, e.actor) for e in t.events if e.actor == "bob (web)"]
    assert [k for k, _ in mine] == ["assigned", "priority_set", "responded", "paused",
                                    "resumed", "time_logged", "note", "resolved"]
    assert t.time_logged_hours() == 1.5
    # a refused action says why on the page and changes nothing
    r = act("priority", priority="P1", reason="")
    assert r.status_code == 303
    page = http.get(f"{site.url}/tickets/{v.reference}")
    assert "priority: a reason is needed" in page.text
    assert helpdesk.show(v.reference).ticket.priority == Priority.P2
    assert act("reopen", reason="came back").status_code == 303
    assert helpdesk.show(v.reference).ticket.status == "open"


def test_the_queue_is_ordered_by_working_time_left_and_filters(
        site: Site, helpdesk: Helpdesk, http: httpx.Client, clock: ManualClock) -> None:
    p4 = helpdesk.register(subject="typo on the invoice page", client="acme",
                           priority=Priority.P4, reason="t", requester="ann@acme.example")
    p2 = helpdesk.register(subject="reports are slow", client="acme", priority=Priority.P2,
                           reason="t", channel=Channel.SLACK)
    p1 = helpdesk.register(subject="everything is down", client="acme", priority=Priority.P1,
                           reason="t")
    done = helpdesk.register(subject="old one", client="acme", priority=Priority.P1, reason="t")
    helpdesk.resolve(done.reference, actor="t")
    clock.advance(timedelta(minutes=20))
    sign_in(http, site)
    page = http.get(site.url + "/").text
    order = [page.index(f'data-ref="{v.reference}"') for v in (p1, p2, p4)]
    assert order == sorted(order)
    assert f'data-ref="{done.reference}"' not in page
    assert "3 open tickets" in page
    rows = http.get(site.url + "/queue/rows", params={"channel": "slack"}).text
    assert p2.reference in rows and p1.reference not in rows
    rows = http.get(site.url + "/queue/rows", params={"search": "ANN@acme"}).text
    assert p4.reference in rows and p2.reference not in rows
    rows = http.get(site.url + "/queue/rows", params={"search": p1.reference.lower()}).text
    assert f'data-ref="{p1.reference}"' in rows and p4.reference not in rows


def test_health_says_whether_anyone_can_sign_in(database: Database,
                                               helpdesk: Helpdesk) -> None:
    with dashboard(database, helpdesk) as s:
        h = s.component.health()
        assert h.ok and not h.degraded and "2 staff accounts" in h.detail


@pytest.mark.usefixtures("no_supportbot_env")
def test_settings_name_the_key_of_a_dashboard_mistake(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text("[dashboard]\nenabled = true\nsession_secret = 'short'\n[web]\nenabled = true\n",
                 encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_settings(f)
    assert "dashboard.session_secret" in str(e.value) and str(f) in str(e.value)
    f.write_text(f"[dashboard]\nenabled = true\nsession_secret = '{'x' * 40}'\n",
                 encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_settings(f)
    assert "dashboard.enabled" in str(e.value) and "web.enabled = true" in str(e.value)
    f.write_text(f"[dashboard]\nenabled = true\nsession_secret = '{'x' * 40}'\n[web]\n"
                 "enabled = true\n", encoding="utf-8")
    assert load_settings(f).dashboard.enabled
