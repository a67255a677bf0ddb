"""A fake of the Twilio REST API (calls and messages) for the real ``twilio`` client: it checks
the account's Basic auth, records what was asked, and answers as Twilio does."""

from __future__ import annotations

import base64
import itertools
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from adapters.twilio.component import form_params

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "fake-auth-token-0123456789"


@dataclass
class FakeTwilio:
    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    calls: list[dict[str, str]] = field(default_factory=list)
    messages: list[dict[str, str]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    """Numbers the fake refuses calls and SMS to (Twilio's 400 with code 21211)."""
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def routes(self) -> list[Route]:
        base = "/2010-04-01/Accounts/{account}"
        return [Route(base + ".json", self._account, methods=["GET"]),
                Route(base + "/Calls.json", self._create("CA", self.calls), methods=["POST"]),
                Route(base + "/Messages.json", self._create("SM", self.messages),
                      methods=["POST"])]

    def _authorized(self, request: Request) -> bool:
        expected = "Basic " + base64.b64encode(
            f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return (request.path_params["account"] == self.account_sid
                and request.headers.get("authorization") == expected)

    async def _account(self, request: Request) -> JSONResponse:
        if not self._authorized(request):
            return JSONResponse({"code": 20003, "message": "Authenticate", "status": 401},
                                status_code=401)
        return JSONResponse({"sid": self.account_sid, "status": "active",
                             "friendly_name": "fake", "type": "Full"})

    def _create(self, prefix: str, into: list[dict[str, str]]
                ) -> Callable[[Request], Awaitable[JSONResponse]]:
        async def endpoint(request: Request) -> JSONResponse:
            if not self._authorized(request):
                return JSONResponse({"code": 20003, "message": "Authenticate",
                                     "status": 401}, status_code=401)
            form = form_params(await request.body())
            if form.get("To") in self.refuse:
                return JSONResponse({"code": 21211, "status": 400, "message":
                                     f"The 'To' number {form['To']} is not a valid phone "
                                     "number."}, status_code=400)
            with self._lock:
                sid = f"{prefix}{next(self._ids):032x}"
                into.append({**form, "Sid": sid})
            return JSONResponse({"sid": sid, "account_sid": self.account_sid,
                                 "to": form.get("To"), "from": form.get("From"),
                                 "status": "queued", "api_version": "2010-04-01"},
                                status_code=201)

        return endpoint
