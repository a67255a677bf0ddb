"""The staff dashboard (``[dashboard] enabled``): server-rendered pages under ``/staff`` on the
web app - the queue of open tickets by working time left, a ticket with its clocks, log,
messages and actions - for staff signed in with a password (``supportbot staff passwd``).

Sessions are signed cookies (Starlette's ``SessionMiddleware``, the secret from
``dashboard.session_secret``), http-only, ``SameSite=Lax`` and https-only unless
``dashboard.secure_cookies = false``; every form carries a CSRF token."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from adapters.storage import Database, UnitOfWorks
from adapters.storage.staff_accounts import StaffAccounts
from adapters.web.component import Health
from adapters.web.dashboard.admin_pages import AdminPages
from adapters.web.dashboard.auth import Signed, SignIn
from adapters.web.dashboard.pages import Pages
from adapters.web.dashboard.sse import EventStream
from adapters.web.open_tickets import OpenTickets
from bot.services import Helpdesk
from config.dashboard import DashboardSettings

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from adapters.bootstrap import App

HERE = Path(__file__).parent
PREFIX = "/staff"


def templates() -> Jinja2Templates:
    """Every template autoescaped: what clients wrote is shown as text."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    return Jinja2Templates(env=env)


class DashboardComponent:
    name = "dashboard"

    def __init__(self, db: Database, uow: UnitOfWorks, helpdesk: Helpdesk,
                 settings: DashboardSettings, *, open_tickets: OpenTickets | None = None,
                 app: App | None = None, sse_poll: float = 1.0) -> None:
        """``open_tickets``: the ones ``/metrics`` reads too (else one of its own); ``app``:
        the services of the clients, reports, reminders, quarantine, outbox and maintenance
        pages (without it only the queue and the tickets are served)."""
        self.db = db
        self.uow = uow
        self.settings = settings
        self.accounts = StaffAccounts(db)
        self.signin = SignIn(self.accounts, helpdesk.clock, attempts=settings.login_attempts,
                             window=timedelta(minutes=settings.login_window_minutes))
        self.open_tickets = open_tickets or OpenTickets(uow, helpdesk.clock, helpdesk.policies)
        self.pages = Pages(helpdesk, self.accounts, self.signin, templates(),
                           self._messages, self._staff, self._clients, self.open_tickets,
                           queue_rows=settings.queue_rows)
        self.events = EventStream(db, poll=sse_poll)
        self.admin = AdminPages(self.pages, app) if app is not None else None

    def _messages(self, ticket_id: int) -> list[Any]:
        with self.uow.reader() as uow:
            return uow.messages.for_ticket(ticket_id)

    def _staff(self) -> list[str]:
        with self.uow.reader() as uow:
            return sorted(s.name for s in uow.staff.list())

    def _clients(self) -> list[str]:
        with self.uow.reader() as uow:
            return sorted(c.name for c in uow.clients.list())

    def app(self) -> Starlette:
        """The dashboard as an app of its own (mounted at ``/staff``), with its sessions."""
        p, only = self.pages, self.pages.staff_only

        async def stream(request: Request, _me: Signed) -> Response:
            return await self.events(request)

        routes = [
            Route("/login", p.login_form, methods=["GET"]),
            Route("/login", p.login, methods=["POST"]),
            Route("/logout", only(p.logout), methods=["POST"]),
            Route("/", only(p.queue), methods=["GET"]),
            Route("/queue/rows", only(p.queue_rows), methods=["GET"]),
            Route("/events", only(stream), methods=["GET"]),
            Route("/tickets/{ref}", only(p.ticket), methods=["GET"]),
            Route("/tickets/{ref}/{action}", only(p.act), methods=["POST"]),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ]
        if self.admin is not None:
            a, managers = self.admin, self.admin.managers_only
            routes += [
                Route("/clients", only(a.clients), methods=["GET"]),
                Route("/clients/{name}/report", only(a.client_report), methods=["GET"]),
                Route("/reports", only(managers(a.reports)), methods=["GET"]),
                Route("/maintenance", only(managers(a.maintenance)), methods=["GET"]),
                Route("/reminders", only(a.reminders), methods=["GET"]),
                Route("/quarantine", only(a.quarantine), methods=["GET"]),
                Route("/outbox", only(a.outbox), methods=["GET"]),
                Route("/quarantine/{id:int}/{action}", only(a.mend), methods=["POST"]),
                Route("/outbox/{id:int}/{action}", only(a.mend), methods=["POST"]),
            ]
        s = self.settings
        return Starlette(routes=routes, middleware=[Middleware(
            SessionMiddleware, secret_key=s.session_secret.get_secret_value(),
            session_cookie="supportbot_staff", max_age=s.session_hours * 3600,
            same_site="lax", https_only=s.secure_cookies)])

    def routes(self) -> Sequence[BaseRoute]:
        return [Mount(PREFIX, app=self.app())]

    def health(self) -> Health:
        n = len(self.accounts.list())
        if n == 0:
            return Health(True, "nobody can sign in yet: supportbot staff passwd NAME",
                          degraded=True)
        return Health(True, f"{n} staff account{'s' * (n != 1)}, "
                      f"{self.events.streams} live queue{'s' * (self.events.streams != 1)}")

    def metrics(self) -> Iterable[Metric]:
        g = GaugeMetricFamily("supportbot_dashboard_streams",
                              "Queue pages following the event log now (server-sent events).")
        g.add_metric([], self.events.streams)
        yield g
        c = CounterMetricFamily("supportbot_dashboard_signins",
                                "Sign-ins to the dashboard, by outcome.", labels=["outcome"])
        for outcome, n in sorted(self.signin.outcomes.items()):
            c.add_metric([outcome], n)
        yield c

    async def start(self) -> None:
        self.events.closing.clear()

    def quiesce(self) -> None:
        """The server is stopping: the open event streams end (browsers reconnect to
        another instance, or when this one is back)."""
        self.events.closing.set()

    async def stop(self) -> None:
        self.events.closing.set()
