"""The dashboard's pages and form posts: sign-in, the queue, a ticket and its actions.

Every page and endpoint but the sign-in form needs a signed-in staff member; every POST needs
the session's CSRF token (checked before anything else is read). Storage work runs in the
thread pool, off the event loop."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from adapters.storage.staff_accounts import StaffAccounts
from adapters.web.dashboard import csrf
from adapters.web.dashboard.actions import ACTIONS
from adapters.web.dashboard.auth import Signed, SignIn, client_address, signed_in, start_session
from adapters.web.dashboard.present import (
    classification,
    clock_line,
    event_line,
    message_lines,
    queue_line,
)
from adapters.web.open_tickets import OpenTickets
from bot.errors import InvalidAction, NotFound
from bot.model import Channel, TicketStatus
from bot.priority import Priority
from bot.queue import Queue, QueueFilter, queue_from_snapshots
from bot.services import Helpdesk
from bot.views import ACTIVE

Handler = Callable[[Request, Signed], Awaitable[Response]]


class Pages:
    """The handlers, sharing the services they call."""

    def __init__(self, helpdesk: Helpdesk, accounts: StaffAccounts, signin: SignIn,
                 templates: Jinja2Templates, read_messages: Callable[[int], list[Any]],
                 staff_names: Callable[[], list[str]], client_names: Callable[[], list[str]],
                 open_tickets: OpenTickets, *, queue_rows: int = 200) -> None:
        self.helpdesk = helpdesk
        self.open_tickets = open_tickets
        self.accounts = accounts
        self.signin = signin
        self.templates = templates
        self.read_messages = read_messages
        self.staff_names = staff_names
        self.client_names = client_names
        self.row_limit = queue_rows

    # -- plumbing ----------------------------------------------------------------------------

    def render(self, request: Request, template: str, status_code: int = 200,
               **context: Any) -> Response:
        for key, default in (("me", None), ("error", ""), ("name", ""), ("flash", None)):
            context.setdefault(key, default)
        return self.templates.TemplateResponse(
            request, template, {"csrf_token": csrf.token(request), "root": _root(request),
                            **context},
            status_code=status_code, headers=SECURITY_HEADERS)

    def staff_only(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """Signed-in staff only: a page sends others to the sign-in form, a POST is refused
        without the session's CSRF token."""
        async def endpoint(request: Request) -> Response:
            if request.method == "POST":
                form = await request.form()
                if not csrf.valid(request, form):
                    return PlainTextResponse("refused: the form's CSRF token is missing or "
                                             "wrong (reload the page)", status_code=403)
            me = await run_in_threadpool(signed_in, request, self.accounts)
            if me is None:
                if request.method == "GET" and "text/event-stream" not in \
                        request.headers.get("accept", ""):
                    target = request.url.path + (f"?{request.url.query}"
                                                 if request.url.query else "")
                    return RedirectResponse(f"{_root(request)}/login?next={quote(target)}",
                                            status_code=303)
                return PlainTextResponse("sign in first", status_code=401)
            return await handler(request, me)
        return endpoint

    # -- sign-in -----------------------------------------------------------------------------

    async def login_form(self, request: Request) -> Response:
        return self.render(request, "login.html", next=_safe_next(request, request.query_params
                                                                 .get("next", "")))

    async def login(self, request: Request) -> Response:
        form = await request.form()
        if not csrf.valid(request, form):
            return PlainTextResponse("refused: the form's CSRF token is missing or wrong "
                                     "(reload the page)", status_code=403)
        name = str(form.get("name", "")).strip()
        password = str(form.get("password", ""))
        address = client_address(request)
        nxt = _safe_next(request, str(form.get("next", "")))
        if await run_in_threadpool(self.signin.throttled, name, address):
            self.signin.outcomes["throttled"] += 1
            minutes = int(self.signin.window / timedelta(minutes=1))
            return self.render(request, "login.html", status_code=429, next=nxt, name=name,
                               error=f"Too many failed sign-ins: try again in {minutes} "
                                     "minutes.")
        account = await run_in_threadpool(self.signin.check, name, password, address)
        if account is None:
            return self.render(request, "login.html", status_code=401, next=nxt, name=name,
                               error="Wrong name or password.")
        start_session(request, account)
        return RedirectResponse(nxt, status_code=303)

    async def logout(self, request: Request, me: Signed) -> Response:
        request.session.clear()
        return RedirectResponse(f"{_root(request)}/login", status_code=303)

    # -- the queue ---------------------------------------------------------------------------

    def _queue(self, flt: QueueFilter) -> Queue:
        """From the open tickets kept in memory (``OpenTickets``), ranked at now; only the
        rows shown are derived again."""
        o = self.open_tickets
        return queue_from_snapshots(o.snapshots(), o.clock.now(), o.derive, flt, self.row_limit)

    async def queue(self, request: Request, me: Signed) -> Response:
        flt = _filter(request)
        q = await run_in_threadpool(self._queue, flt)
        return self.render(request, "queue.html", me=me, queue=q, filter=flt,
                           lines=[queue_line(e) for e in q.entries], **self._choices(),
                           query=urlencode({k: v for k, v in vars(flt).items() if v}))

    async def queue_rows(self, request: Request, me: Signed) -> Response:
        """The queue's table body alone, for the page to swap in when tickets change."""
        q = await run_in_threadpool(self._queue, _filter(request))
        return self.render(request, "_rows.html", me=me, queue=q,
                           lines=[queue_line(e) for e in q.entries])

    def _choices(self) -> dict[str, Any]:
        return {"priorities": [p.value for p in Priority],
                "statuses": [s.value for s in ACTIVE],
                "channels": [c.value for c in Channel],
                "clients": self.client_names(),
                "staff": self.staff_names()}

    # -- a ticket ----------------------------------------------------------------------------

    def _ticket(self, ref: str) -> dict[str, Any]:
        view = self.helpdesk.show(ref)
        summary, reasons = classification(view)
        assert view.ticket.id is not None
        return {"view": view, "t": view.ticket, "summary": summary, "reasons": reasons,
                "clocks": [clock_line(c, view) for c in view.clocks.values()],
                "events": [event_line(e, view) for e in reversed(view.ticket.events)],
                "messages": message_lines(self.read_messages(view.ticket.id), view),
                "active": view.ticket.active,
                "resolved": view.ticket.status == TicketStatus.RESOLVED,
                "paused": view.ticket.status == TicketStatus.PAUSED}

    async def ticket(self, request: Request, me: Signed) -> Response:
        ref = request.path_params["ref"]
        try:
            data = await run_in_threadpool(self._ticket, ref)
        except NotFound as e:
            return self.render(request, "error.html", status_code=404, me=me, error=str(e))
        flash = request.session.pop("flash", None)
        return self.render(request, "ticket.html", me=me, flash=flash, **data,
                           priorities=[p.value for p in Priority], staff=self.staff_names())

    async def act(self, request: Request, me: Signed) -> Response:
        ref, name = request.path_params["ref"], request.path_params["action"]
        if name not in ACTIONS:
            return PlainTextResponse(f"no action {name!r}", status_code=404)
        done, call = ACTIONS[name]
        form = {k: str(v) for k, v in (await request.form()).items()}
        try:
            view = await run_in_threadpool(call, self.helpdesk, ref, me.actor, me.name, form)
        except NotFound as e:
            return self.render(request, "error.html", status_code=404, me=me, error=str(e))
        except (InvalidAction, ValueError) as e:
            request.session["flash"] = {"error": True, "text": f"{name}: {e}"}
            return RedirectResponse(f"{_root(request)}/tickets/{quote(ref)}", status_code=303)
        request.session["flash"] = {"error": False, "text": f"{view.reference} {done}"}
        return RedirectResponse(f"{_root(request)}/tickets/{view.reference}", status_code=303)


SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
"""No inline script can run (a client's text is escaped, and even if it were not), no framing."""


def _root(request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/")


def _safe_next(request: Request, nxt: str) -> str:
    """Where to go after signing in: a path of the dashboard only (never another site)."""
    root = _root(request)
    if nxt.startswith(root + "/") and not nxt.startswith("//") and "\\" not in nxt:
        return nxt
    return root + "/"


def _filter(request: Request) -> QueueFilter:
    q = request.query_params
    return QueueFilter(**{k: q.get(k, "").strip()[:200] for k in (
        "client", "priority", "assignee", "status", "channel", "search")})
