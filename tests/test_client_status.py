"""The client's status page: reached from the acknowledgement's signed link, over real HTTP
(uvicorn on a free port, httpx as the browser), with real SMTP in and a real relay out."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from adapters.storage import Database
from adapters.storage.inbox import InboxStore
from bot.model import EventKind
from tests.clientweb import WebBot, links_in, web_bot
from tests.mailbot import mail
from tests.mailpeers import LoopThread

REQUESTER = "anna@acme.example"
SUBJECT = 'Portal down <script>document.title="owned"</script> & <b>bold</b>'


@pytest.fixture
def wb(database: Database, loop: LoopThread) -> Iterator[WebBot]:
    yield from web_bot(database, loop)


def _open_ticket(wb: WebBot, subject: str = SUBJECT) -> tuple[str, str]:
    """A client mails in; (reference, status URL path) from the acknowledgement."""
    outcome, sent = wb.bot.roundtrip(mail(REQUESTER, subject,
                                          "The portal shows <i>error 500</i> since 9:00."))
    assert outcome.state == "done" and outcome.reference
    (ack,) = sent
    (url,) = links_in(ack)
    assert url.startswith(f"{wb.base}/status/")
    return outcome.reference, url.removeprefix(wb.base)


def _form(page: str) -> dict[str, str]:
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page))
    assert set(fields) == {"form_key", "nonce"}, page
    return fields


def _inbox_rows(wb: WebBot) -> int:
    with wb.bot.app.uow.reader() as uow:
        return len(InboxStore(uow.session).items("mail"))


def test_the_acknowledgement_links_to_a_page_of_that_ticket(wb: WebBot) -> None:
    ref, path = _open_ticket(wb)
    priority = wb.bot.app.helpdesk.show(ref).ticket.priority
    with wb.browser() as b:
        first = b.get(path).text
        wb.bot.clock.advance(timedelta(minutes=20, seconds=17))
        wb.bot.app.helpdesk.respond(ref, actor="alice@provider.example",
                                    message="We are looking at the portal now.")
        wb.bot.app.helpdesk.note(ref, "customer's DB password is hunter2", actor="alice")
        r = b.get(path)
    assert f"<h1>{ref}:" in first and "registered, not answered yet" in first
    assert f'<dd id="priority">{priority}</dd>' in first
    # due instants in the policy's zone (Brussels), to the minute
    assert re.search(r'<dd class="due">due \w{3} \d\d \w{3} 2026 \d\d:\d\d CET</dd>', first)
    assert r.status_code == 200
    page = r.text
    assert "being worked on" in page
    assert '<dd class="due">met Mon 23 Nov 2026 09:20 CET</dd>' in page
    assert "We are looking at the portal now." in page and "Alice Martin, Provider Support" in page
    assert "hunter2" not in page, "an internal note reached the client's page"
    # the client's HTML is text: escaped, never markup
    assert "<script>" not in page and "<b>bold</b>" not in page and "<i>error" not in page
    assert html.escape(SUBJECT, quote=False) in page.replace("&#34;", '"')
    assert r.headers["content-security-policy"].startswith("default-src 'none'")
    assert r.headers["referrer-policy"] == "no-referrer"


def test_information_added_on_the_page_threads_like_a_mail_reply(wb: WebBot) -> None:
    ref, path = _open_ticket(wb)
    wb.bot.deliver()
    with wb.browser() as b:
        fields = _form(b.get(path).text)
        before = _inbox_rows(wb)
        r = b.post(path, data={**fields, "text": "It fails for <b>every</b> user in Ghent."})
        assert r.status_code == 303 and r.headers["location"] == f"{path}?sent=1"
        assert _inbox_rows(wb) == before + 1, "stored before the page said yes"
        again = b.post(path, data={**fields, "text": "It fails for <b>every</b> user in Ghent."})
        assert again.status_code == 303  # the same form twice: one message (below)
        outcomes = wb.bot.process()
        assert [o.state for o in outcomes] == ["done", "duplicate"], outcomes
        assert outcomes[0].reference == ref and outcomes[0].action == "follow-up"
        shown = b.get(f"{path}?sent=1").text
    assert "your message was received" in shown
    assert "It fails for &lt;b&gt;every&lt;/b&gt; user in Ghent." in shown
    t = wb.bot.app.helpdesk.show(ref).ticket
    received = [e for e in t.events if e.kind == EventKind.MESSAGE_RECEIVED]
    assert len(received) == 1 and received[0].data["from"] == "anna@acme.example"
    assert "every" in received[0].data["text"]


def test_a_post_without_the_pages_csrf_key_is_refused_and_the_text_kept(wb: WebBot) -> None:
    _ref, path = _open_ticket(wb)
    with wb.browser() as b:
        fields = _form(b.get(path).text)
        before = _inbox_rows(wb)
        no_key = b.post(path, data={"nonce": fields["nonce"], "text": "forged text"})
        with httpx.Client(base_url=wb.base) as other:  # another browser: not its cookie
            foreign = other.post(path, data={**fields, "text": "forged text"})
        empty = b.post(path, data={**fields, "text": "   "})
    assert no_key.status_code == 403 and "forged text" in no_key.text
    assert foreign.status_code == 403
    assert empty.status_code == 400 and "the message is empty" in empty.text
    assert _inbox_rows(wb) == before, "a refused form stored something"


def test_a_tampered_expired_or_foreign_token_is_a_404(wb: WebBot) -> None:
    ref, path = _open_ticket(wb)
    other_ref, _ = _open_ticket(wb, "Another problem")
    token = path.removeprefix("/status/")
    encoded, sig = token.split(".")
    body = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    purpose, tid, exp = body.split(".")
    other_id = int(other_ref.removeprefix("T-"))
    forged = base64.urlsafe_b64encode(f"{purpose}.{other_id}.{exp}".encode()).decode()
    as_rating = base64.urlsafe_b64encode(f"rate.{tid}.{exp}".encode()).decode()
    with wb.browser() as b:
        assert b.get(path).status_code == 200
        for bad in (f"{forged.rstrip('=')}.{sig}", f"{as_rating.rstrip('=')}.{sig}",
                    token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "x", "x.y",
                    f"{encoded}.{sig[:-1]}é", "é.é", f"{encoded}."):
            r = b.get(f"/status/{bad}")
            assert r.status_code == 404, bad
            assert other_ref not in r.text and ref not in r.text
        assert b.post(f"/status/{forged.rstrip('=')}.{sig}", data={"text": "x"}).status_code \
            == 404
        wb.bot.clock.advance(timedelta(days=91))  # client_links.status_days = 90
        assert b.get(path).status_code == 404


def test_the_page_says_when_nothing_more_can_be_added(wb: WebBot) -> None:
    ref, path = _open_ticket(wb)
    wb.bot.app.helpdesk.close(ref, actor="alice", note="duplicate")
    with wb.browser() as b:
        page = b.get(path).text
        assert "<form" not in page and "closed" in page
        r = b.post(path, data={"form_key": "x", "nonce": "y" * 20, "text": "late"})
        odd = b.post(path, data={"form_key": "ké", "nonce": "y" * 20, "text": "late"})
    assert r.status_code == odd.status_code == 403  # no key for a form that is not shown


def test_added_information_reopens_a_resolved_ticket_as_a_mail_reply_would(wb: WebBot) -> None:
    ref, path = _open_ticket(wb)
    wb.bot.app.helpdesk.resolve(ref, actor="alice", note="restarted")
    wb.bot.clock.advance(timedelta(hours=2))
    with wb.browser() as b:
        resolved = b.get(path).text
        rate = re.findall(r'<a href="(/rate/[^"]+/4)">4 \(good\)</a>', resolved)
        assert len(rate) == 1 and b.get(rate[0]).status_code == 200  # the page asks to rate
        assert "Resolved. restarted" in resolved
        fields = _form(resolved)
        assert b.post(path, data={**fields, "text": "Still down here."}).status_code == 303
        (outcome,) = wb.bot.process()
        assert 'id="rate"' not in b.get(path).text  # reopened: nothing to rate now
    assert outcome.action == "follow-up reopened the ticket", outcome
    assert wb.bot.app.helpdesk.show(ref).ticket.status == "open"


def test_a_form_the_inbox_cannot_store_is_refused_with_its_text_and_health_says_so(
        wb: WebBot) -> None:
    _ref, path = _open_ticket(wb)
    with wb.browser() as b:
        fields = _form(b.get(path).text)
        wb.bot.store.stop()  # the inbox's writer is gone: nothing can be stored
        r = b.post(path, data={**fields, "text": "Important detail"})
    assert r.status_code == 503 and "Important detail" in r.text and "nothing was sent" in r.text
    health = wb.component.health()
    assert health.ok and health.degraded and "not stored" in health.detail
    wb.bot.store.start()
    with wb.browser() as b:
        fields = _form(b.get(path).text)
        assert b.post(path, data={**fields, "text": "Important detail"}).status_code == 303
    assert wb.component.health().status == "ok"


def test_a_flood_of_forms_from_one_page_is_refused_with_the_text_kept(wb: WebBot) -> None:
    _ref, path = _open_ticket(wb)
    with wb.browser() as b:
        for n in range(20):
            fields = _form(b.get(path).text)
            assert b.post(path, data={**fields, "text": f"detail {n}"}).status_code == 303
        fields = _form(b.get(path).text)
        flood = b.post(path, data={**fields, "text": "detail 20"})
        assert flood.status_code == 429 and "detail 20" in flood.text
        wb.bot.clock.advance(timedelta(hours=1))
        fields = _form(b.get(path).text)
        assert b.post(path, data={**fields, "text": "detail 21"}).status_code == 303
