"""The client pages as a web component: routes, health, metrics (see the package's docstring)."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from urllib.parse import parse_qs

from jinja2 import Environment, FileSystemLoader, select_autoescape
from prometheus_client.core import CounterMetricFamily
from prometheus_client.metrics_core import Metric
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from adapters.bootstrap import App
from adapters.mail.inbound import Accepted
from adapters.web.client.pages import ClientPages, Page
from adapters.web.component import Health
from bot.links import ClientLinks

COOKIE = "supportbot_form"
"""The browser's random nonce the pages' CSRF keys are bound to (with the link's token)."""
TEMPLATES = Path(__file__).parent / "templates"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the token is in the URL: never sent on
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
}


MAX_FORM_BYTES = 256 * 1024
TOO_BIG = Page("refused.html", {"reason": "The message is too long to send here: send it as a "
                                          "mail reply instead.", "text": "", "back": "."},
               status=413, outcome="refused")


async def _form(request: Request) -> dict[str, str] | None:
    """The fields of an urlencoded form (the pages' only kind); None when it is too big."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[0] for k, v in fields.items()}


class ClientComponent:
    """``/status/{token}`` and ``/rate/{token}/{score}``. ``accept`` stores a raw mail in the
    inbox, durably, and gives its id (``InboundStore.accept`` of the running mail stack)."""

    name = "client"

    def __init__(self, app: App, links: ClientLinks,
                 accept: Callable[[Accepted], Awaitable[int]]) -> None:
        self.links = links
        self.secure = links.public_url.startswith("https://")
        self.pages = ClientPages(app, links, accept)
        self.env = Environment(loader=FileSystemLoader(TEMPLATES),
                               autoescape=select_autoescape(("html",), default=True),
                               trim_blocks=True, lstrip_blocks=True)
        self.team = app.settings.mail.team_name
        self.served: Counter[str] = Counter()

    # -- the web component ------------------------------------------------------------------

    def routes(self) -> Sequence[BaseRoute]:
        return [Route("/status/{token}", self._status, methods=["GET", "POST"]),
                Route("/rate/{token}/{score:int}", self._rate, methods=["GET", "POST"])]

    def health(self) -> Health:
        """Degraded while the last form could not be stored (the pages still read)."""
        failure = self.pages.store_failure
        if failure is not None:
            return Health(True, f"the last status-page form was not stored: {failure}",
                          degraded=True)
        return Health(True, f"status and rating links at {self.links.base}")

    def metrics(self) -> Iterable[Metric]:
        c = CounterMetricFamily("supportbot_client_pages",
                                "Client status and rating pages answered, by outcome.",
                                labels=["outcome"])
        for outcome in sorted({"status", "added", "rate_asked", "rated", "refused",
                               "not_found", *self.served}):
            c.add_metric([outcome], self.served.get(outcome, 0))
        yield c

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    # -- requests ---------------------------------------------------------------------------

    async def _status(self, request: Request) -> Response:
        token = request.path_params["token"]
        nonce = request.cookies.get(COOKIE) or ""
        if request.method == "POST":
            form = await _form(request)
            if form is None:
                return self._answer(TOO_BIG, nonce)
            page = await self.pages.add_information(
                token, nonce=nonce, form_key=form.get("form_key", ""),
                message_nonce=form.get("nonce", ""), text=form.get("text", ""))
        else:
            nonce = nonce or secrets.token_urlsafe(18)
            page = await self.pages.status(token, nonce=nonce,
                                           sent=request.query_params.get("sent") == "1")
        return self._answer(page, nonce)

    async def _rate(self, request: Request) -> Response:
        token, score = request.path_params["token"], int(request.path_params["score"])
        nonce = request.cookies.get(COOKIE) or ""
        if request.method == "POST":
            form = await _form(request)
            if form is None:
                return self._answer(TOO_BIG, nonce)
            page = await self.pages.rate(token, score, nonce=nonce,
                                         form_key=form.get("form_key", ""))
        else:
            nonce = nonce or secrets.token_urlsafe(18)
            page = await self.pages.ask_rating(token, score, nonce=nonce)
        return self._answer(page, nonce)

    def _answer(self, page: Page, nonce: str) -> Response:
        self.served[page.outcome] += 1
        if page.redirect is not None:
            response: Response = RedirectResponse(page.redirect, status_code=303)
        else:
            html = self.env.get_template(page.template).render(team=self.team, **page.context)
            response = HTMLResponse(html, status_code=page.status)
        response.headers.update(SECURITY_HEADERS)
        if nonce:
            response.set_cookie(COOKIE, nonce, max_age=7 * 86400, httponly=True,
                                secure=self.secure, samesite="strict", path="/")
        return response


