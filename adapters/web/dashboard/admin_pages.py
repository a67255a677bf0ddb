"""The dashboard's other pages: clients (the current period so far, and its report as HTML),
sent reports and their approval deadline, reminders sent, quarantined mail and the outbox
(retry / drop), maintenance windows. Reports and maintenance are for managers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from adapters.outbox import admin as outbox_admin
from adapters.storage.reminders import ReminderStore
from adapters.web.dashboard.auth import Signed
from adapters.web.dashboard.pages import SECURITY_HEADERS, Pages, _root
from bot import readable
from bot.errors import InvalidAction, NotFound
from bot.reports.html import render_html

if TYPE_CHECKING:
    from adapters.bootstrap import App

Handler = Callable[[Request, Signed], Awaitable[Response]]


@dataclass(frozen=True)
class Button:
    label: str
    path: str
    """Where the button POSTs (under the dashboard's root)."""


@dataclass(frozen=True)
class Row:
    cells: Sequence[str]
    link: str = ""
    """The first cell links here (under the dashboard's root), if given."""
    buttons: Sequence[Button] = field(default_factory=tuple)
    mark: str = ""
    """A class for the row (``u-breached`` stands out)."""


class AdminPages:
    def __init__(self, pages: Pages, app: App) -> None:
        self.pages = pages
        self.app = app

    def managers_only(self, handler: Handler) -> Handler:
        async def endpoint(request: Request, me: Signed) -> Response:
            if not me.manager:
                return self.pages.render(request, "error.html", status_code=403, me=me,
                                         error="Managers only: ask a manager, or for "
                                               "`supportbot staff passwd NAME --role manager`.")
            return await handler(request, me)
        return endpoint

    def _table(self, request: Request, me: Signed, title: str, columns: Sequence[str],
               rows: Sequence[Row], intro: str = "") -> Response:
        flash = request.session.pop("flash", None)
        return self.pages.render(request, "list.html", me=me, title=title, columns=columns,
                                 rows=rows, intro=intro, flash=flash)

    def _tz(self) -> tzinfo:
        return self.app.helpdesk.policies.get(None).calendar.tz

    # -- clients -----------------------------------------------------------------------------

    def _client_rows(self) -> list[Row]:
        rows = []
        with self.app.uow.reader() as uow:
            clients = uow.clients.list()
        for c in sorted(clients, key=lambda c: c.name):
            r = self.app.reporting.report(c.name, "current")
            figures = []
            for p in r.priorities:
                for name, f in p.clocks.items():
                    if f.total:
                        target = f" (target {f.target:.0%})" if f.target is not None else ""
                        figures.append(f"{p.priority} {name} {f.met}/{f.total}{target}")
            credits = sum((cr.amount for cr in r.credits), start=0)
            avail = (f"{r.availability.share:.3%} (target {r.availability.target:.2%})"
                     if r.availability else "-")
            rows.append(Row((c.name, f"{r.period.first} – {r.period.last}",
                             "; ".join(figures) or "no clock settled yet",
                             str(len(r.breaches)), f"{credits} {r.currency}", avail),
                            link=f"/clients/{c.name}/report",
                            mark="u-breached" if r.breaches else ""))
        return rows

    async def clients(self, request: Request, me: Signed) -> Response:
        rows = await run_in_threadpool(self._client_rows)
        return self._table(request, me, "Clients", ("Client", "Period", "Met / total",
                                                    "Breaches", "Credits", "Availability"),
                           rows, "The current period so far; a client's name opens its report.")

    async def client_report(self, request: Request, me: Signed) -> Response:
        name = request.path_params["name"]
        period = request.query_params.get("period", "current")
        try:
            r = await run_in_threadpool(self.app.reporting.report, name, period)
        except (NotFound, ValueError) as e:
            return self.pages.render(request, "error.html", status_code=404, me=me,
                                     error=str(e))
        # the report's own page: its inline style allowed, no script at all
        headers = {**SECURITY_HEADERS, "Content-Security-Policy":
                   "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"}
        return HTMLResponse(render_html(r), headers=headers)

    # -- reports and maintenance (managers) ------------------------------------------------

    async def reports(self, request: Request, me: Signed) -> Response:
        found = await run_in_threadpool(self.app.approvals.list)
        rows = []
        for sent, state, policy in found:
            tz = policy.calendar.tz if policy else self._tz()
            rows.append(Row((str(sent.id), sent.client, f"{sent.period_first} – "
                             f"{sent.period_last}", state, readable.when(sent.sent_at, tz),
                             readable.when(sent.due_at, tz),
                             f"{sent.decided_by} {sent.note}".strip()),
                            mark="u-at-risk" if state == "challenged" else ""))
        return self._table(request, me, "Reports", ("Id", "Client", "Period", "State", "Sent",
                                                    "Approval deadline", "Decided by"), rows,
                           "Reports sent for approval; one not answered by its deadline "
                           "counts as accepted.")

    async def maintenance(self, request: Request, me: Signed) -> Response:
        now = self.app.clock.now()
        windows = await run_in_threadpool(lambda: self.app.maintenance.windows(
            include_ended=True))
        tz = self._tz()
        rows = [Row((w.key, readable.when(w.start, tz), readable.when(w.end, tz),
                     w.state_at(now), w.summary, ", ".join(w.clients),
                     w.announced_by + (" (hotfix)" if w.hotfix else "")))
                for w in reversed(windows)]
        return self._table(request, me, "Maintenance", ("Key", "Start", "End", "State",
                                                        "Summary", "Clients", "Announced by"),
                           rows, "Announce one with `supportbot maintenance announce`.")

    # -- reminders, quarantine, outbox -------------------------------------------------------

    async def reminders(self, request: Request, me: Signed) -> Response:
        found = await run_in_threadpool(ReminderStore(self.app.db).list, None, 200)
        tz = self._tz()
        rows = [Row((r["key"], readable.when(r["due_at"], tz), r["state"] +
                     (" late" if r.get("late") else ""), readable.when(r["sent_at"], tz),
                     (r.get("reason") or r.get("last_error") or "")[:120]),
                    mark="u-at-risk" if r.get("late") else "") for r in found]
        return self._table(request, me, "Reminders", ("Key", "Due", "State", "Sent", "Note"),
                           rows, "Recorded reminders, newest first.")

    async def quarantine(self, request: Request, me: Signed) -> Response:
        items = await run_in_threadpool(self.app.quarantine.list, 200)
        tz = self._tz()
        rows = [Row((str(i.id), readable.when(i.received_at, tz), i.mail_from or "-",
                     i.reason[:160], str(i.attempts)),
                    buttons=(Button("Retry", f"/quarantine/{i.id}/retry"),
                             Button("Drop", f"/quarantine/{i.id}/drop"))) for i in items]
        return self._table(request, me, "Quarantine", ("Id", "Received", "From", "Reason",
                                                       "Attempts"), rows,
                           "Mail that could not be taken, kept raw with the reason.")

    async def outbox(self, request: Request, me: Signed) -> Response:
        state = request.query_params.get("state") or None
        items = await run_in_threadpool(lambda: outbox_admin.list_items(
            self.app.db, state=state, limit=200))
        tz = self._tz()
        rows = []
        for i in items:
            to = ", ".join(i.recipients) if i.kind == "mail" else i.channel
            what = i.subject if i.kind == "mail" else str(i.payload.get("text", ""))
            buttons: tuple[Button, ...] = ()
            if i.state in ("failed", "dropped"):
                buttons += (Button("Retry", f"/outbox/{i.id}/retry"),)
            if i.state in ("pending", "failed"):
                buttons += (Button("Drop", f"/outbox/{i.id}/drop"),)
            rows.append(Row((str(i.id), i.kind, i.purpose, i.state, to[:60], what[:80],
                             readable.when(i.created_at, tz), i.last_error[:80]),
                            buttons=buttons, mark="u-breached" if i.state == "failed" else ""))
        return self._table(request, me, "Outbox", ("Id", "Kind", "Purpose", "State", "To",
                                                   "What", "Queued", "Last error"), rows,
                           "Everything the bot sends, newest first.")

    async def mend(self, request: Request, me: Signed) -> Response:
        """``POST /quarantine|outbox/{id}/retry|drop``."""
        where = "quarantine" if "/quarantine/" in request.url.path else "outbox"
        action, item = request.path_params["action"], request.path_params["id"]
        if action not in ("retry", "drop"):
            return self.pages.render(request, "error.html", status_code=404, me=me,
                                     error=f"no action {action!r}")

        def run() -> str:
            if where == "quarantine":
                if action == "retry":
                    self.app.quarantine.retry(item)
                    return f"message {item} processed again"
                self.app.quarantine.drop(item, me.actor)
                return f"message {item} dropped"
            if action == "retry":
                outbox_admin.retry(self.app.db, self.app.clock, item, me.actor)
                self.app.mail_queued()
                return f"outbox item {item} due again"
            outbox_admin.drop(self.app.db, item, me.actor)
            return f"outbox item {item} dropped"
        try:
            text = await run_in_threadpool(run)
            request.session["flash"] = {"error": False, "text": text}
        except (NotFound, InvalidAction) as e:
            request.session["flash"] = {"error": True, "text": str(e)}
        return RedirectResponse(f"{_root(request)}/{where}", status_code=303)

