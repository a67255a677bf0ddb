"""What each client page answers, independent of HTTP: a template with its context, a status
code, or a redirect. Reads and writes go through the Helpdesk and the inbox, in threads."""

from __future__ import annotations

import asyncio
import secrets
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from adapters.bootstrap import App
from adapters.mail.inbound import Accepted
from adapters.web.client.reply import FormError, reply_mail
from adapters.web.client.view import status_page
from bot import readable
from bot.errors import InvalidAction, NotFound, StorageError
from bot.links import RATE, SCORES, STATUS, ClientLinks
from bot.mail.compose import safe_address
from bot.mail.notify import SCORE_WORDS
from bot.model import EventKind, Staff, TicketStatus, reference_of
from bot.ticket_channels import RATING_CHANGE_WINDOW
from bot.views import TicketView


@dataclass(frozen=True)
class Page:
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    status: int = 200
    outcome: str = "status"
    redirect: str | None = None


GONE = Page("gone.html", status=404, outcome="not_found")
FORMS_PER_HOUR = 20
"""Forms one ticket's page takes per hour in this process; more are refused (429), text kept:
a leaked link cannot flood the ticket."""


@dataclass(frozen=True)
class _Loaded:
    view: TicketView
    staff: list[Staff]
    thread: list[str]


class ClientPages:
    def __init__(self, app: App, links: ClientLinks,
                 accept: Callable[[Accepted], Awaitable[int]]) -> None:
        self.app = app
        self.links = links
        self.accept = accept
        self.support = app.settings.mail.support_addresses[0]
        self.team = app.settings.mail.team_name
        self.recent: dict[int, deque[datetime]] = {}
        """Ticket id -> when its page's last forms were stored (for ``FORMS_PER_HOUR``)."""
        self.store_failure: str | None = None
        """Why the last form could not be stored (None: the last one was)."""

    # -- the status page --------------------------------------------------------------------

    async def status(self, token: str, *, nonce: str, sent: bool = False, error: str = "",
                     text: str = "") -> Page:
        found = await self._load(token, STATUS)
        if found is None:
            return GONE
        return self._status_page(found, token, nonce, sent=sent, error=error, text=text,
                                 code=400 if error else 200)

    async def add_information(self, token: str, *, nonce: str, form_key: str,
                              message_nonce: str, text: str) -> Page:
        found = await self._load(token, STATUS)
        if found is None:
            return GONE
        back = f"/status/{token}"
        if not self.links.form_key_ok(token, nonce, form_key):
            return self._refused(403, "The form's security key does not match this page (it "
                                 "was open too long, or cookies are off). Reload the page and "
                                 "send again.", text, back)
        t = found.view.ticket
        requester = _writer(found.view)
        if requester is None:
            return self._refused(409, f"{t.reference} is {t.status}: messages can no longer "
                                 "be added here. Write to us by mail instead.", text, back)
        now = self.app.clock.now()
        if not self._allowed(_id(found), now):
            return self._refused(429, f"{t.reference} took {FORMS_PER_HOUR} messages from this "
                                 "page in the last hour; wait a little, or reply by mail.",
                                 text, back)
        try:
            raw = reply_mail(reference=t.reference, subject=t.subject, requester=requester,
                             support=self.support, text=text, nonce=message_nonce,
                             thread=found.thread, at=now)
        except FormError as e:
            return self._status_page(found, token, nonce, error=str(e), text=text, code=400)
        try:
            await self.accept(Accepted(raw, channel="web", mail_from=requester,
                                       rcpt_to=(self.support,)))
        except StorageError as e:
            self.store_failure = str(e)
            return self._refused(503, "We could not store your message just now; nothing was "
                                 "sent. Try again in a minute.", text, back)
        self.store_failure = None
        self.recent.setdefault(_id(found), deque()).append(now)
        return Page("status.html", outcome="added", redirect=f"{back}?sent=1")

    def _allowed(self, ticket_id: int, now: datetime) -> bool:
        sent = self.recent.get(ticket_id)
        while sent and now - sent[0] >= timedelta(hours=1):
            sent.popleft()
        return not sent or len(sent) < FORMS_PER_HOUR

    def _status_page(self, found: _Loaded, token: str, nonce: str, *, sent: bool = False,
                     error: str = "", text: str = "", code: int = 200) -> Page:
        page = status_page(found.view, found.staff, self.team,
                           can_write=_writer(found.view) is not None)
        return Page("status.html", {
            "page": page, "sent": sent, "error": error, "text": text,
            "rate": self._rate_links(found.view),
            "action": f"/status/{token}", "form_key": self.links.form_key(token, nonce),
            "nonce": secrets.token_urlsafe(18)}, status=code,
            outcome="refused" if error else "status")

    def _rate_links(self, view: TicketView) -> list[tuple[int, str, str]]:
        """(score, word, path) of the rating links of a resolved ticket, while they work."""
        t = view.ticket
        resolved = t.last(EventKind.RESOLVED)
        if t.status != TicketStatus.RESOLVED or resolved is None or t.id is None:
            return []
        token = self.links.rating_token(t.id, resolved.at)
        if self.links.read(token, RATE, view.now) is None:
            return []
        return [(n, SCORE_WORDS[n], f"/rate/{token}/{n}") for n in SCORES]

    def _refused(self, code: int, reason: str, text: str, back: str) -> Page:
        return Page("refused.html", {"reason": reason, "text": text, "back": back},
                    status=code, outcome="refused")

    # -- the rating ---------------------------------------------------------------------------

    async def ask_rating(self, token: str, score: int, *, nonce: str) -> Page:
        found = await self._load(token, RATE) if score in SCORES else None
        if found is None:
            return GONE
        t = found.view.ticket
        current = t.rating
        return Page("rate.html", {
            **self._rate_context(found, token, score),
            "form_key": self.links.form_key(f"{token}/{score}", nonce),
            "current": current.data.get("score") if current else None}, outcome="rate_asked")

    async def rate(self, token: str, score: int, *, nonce: str, form_key: str) -> Page:
        found = await self._load(token, RATE) if score in SCORES else None
        if found is None:
            return GONE
        context = self._rate_context(found, token, score)
        if not self.links.form_key_ok(f"{token}/{score}", nonce, form_key):
            return Page("rate.html", {**context, "error": "The form's security key does not "
                                      "match (cookies off?). Open the link again and confirm."},
                        status=403, outcome="refused")
        t = found.view.ticket
        actor = f"client:{t.requester}" if t.requester else "client"
        try:
            await asyncio.to_thread(self.app.helpdesk.rate, _id(found), score, actor=actor,
                                    channel="mail")
        except InvalidAction as e:
            return Page("rate.html", {**context, "error": str(e)}, status=409,
                        outcome="refused")
        first = next((e for e in (await self._load(token, RATE) or found).view.ticket.events
                      if e.kind == EventKind.RATED), None)
        until = None
        if first is not None:
            until = readable.when(first.at + RATING_CHANGE_WINDOW,
                                  found.view.policy.calendar.tz)
        return Page("rate.html", {**context, "done": True, "changeable": until},
                    outcome="rated")

    def _rate_context(self, found: _Loaded, token: str, score: int) -> dict[str, Any]:
        t = found.view.ticket
        return {"reference": t.reference, "subject": t.subject, "score": score,
                "word": SCORE_WORDS[score], "action": f"/rate/{token}/{score}",
                "base": f"/rate/{token}", "scores": sorted(SCORE_WORDS.items())}

    # -- reading ------------------------------------------------------------------------------

    async def _load(self, token: str, purpose: str) -> _Loaded | None:
        read = self.links.read(token, purpose, self.app.clock.now())
        if read is None:
            return None
        return await asyncio.to_thread(self._read, read.ticket_id)

    def _read(self, ticket_id: int) -> _Loaded | None:
        try:
            view = self.app.helpdesk.show(reference_of(ticket_id))
        except NotFound:
            return None
        with self.app.uow.reader() as uow:
            staff = uow.staff.list()
            thread = [m.message_id for m in uow.messages.for_ticket(ticket_id) if m.message_id]
        return _Loaded(view, staff, thread)


def _id(found: _Loaded) -> int:
    assert found.view.ticket.id is not None
    return found.view.ticket.id


def _writer(view: TicketView) -> str | None:
    """The address the page writes as (the requester's), unless the ticket is closed."""
    t = view.ticket
    if t.status == TicketStatus.CLOSED:
        return None
    return safe_address(t.requester)
