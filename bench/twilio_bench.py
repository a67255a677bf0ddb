"""Twilio webhooks: signed status callbacks applied durably, against a do-nothing peer.

    .venv/bin/python bench/twilio_bench.py [--requests N] [--backend sqlite|postgresql]

Three servers in this process, each Starlette on uvicorn on a free 127.0.0.1 port, one at a
time; one client (httpx, keep-alive) sends N signed form posts one after another and times each
round trip:

- ``ceiling``: an endpoint that checks the Twilio signature and answers 204, storing nothing;
- ``status``: the Twilio component's ``/twilio/voice/status``, each callback moving a stored
  call forward (row lock, update, commit before the 204);
- ``duplicate``: the same callbacks again, which change nothing (read under lock, no write).

Signatures are computed before timing starts. Client and server share the process (and the
GIL), so absolute figures are low; the ratio to the ceiling is the figure to read. Prints
figures; asserts nothing; exits 0.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from twilio.request_validator import RequestValidator

from adapters.storage import Database, SqlUnitOfWork
from adapters.twilio.component import TwilioComponent, form_params
from bot.clock import ManualClock
from bot.phone.desk import PhoneDesk
from bot.phone.model import PhoneCall
from bot.phone.ports import PhonePolicy
from bot.policies import PolicyBook
from bot.services import Helpdesk

TOKEN = "bench-auth-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    def __init__(self, routes: list[BaseRoute], port: int) -> None:
        self.port = port
        self.server = uvicorn.Server(uvicorn.Config(Starlette(routes=routes), host="127.0.0.1",
                                                    port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def ceiling_routes(public: str) -> list[BaseRoute]:
    validator = RequestValidator(TOKEN)

    async def status(request: Request) -> Response:
        params = form_params(await request.body())
        if not validator.validate(public + request.url.path, params,
                                  request.headers.get("X-Twilio-Signature", "")):
            return PlainTextResponse("invalid signature", status_code=403)
        return Response(status_code=204)

    return [Route("/twilio/voice/status", status, methods=["POST"])]


def run(base: str, public: str, bodies: list[dict[str, str]]) -> list[float]:
    validator = RequestValidator(TOKEN)
    signed = [(b, validator.compute_signature(public + "/twilio/voice/status", b))
              for b in bodies]
    times = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for body, sig in signed:
            t0 = time.perf_counter()
            r = client.post("/twilio/voice/status", data=body,
                            headers={"X-Twilio-Signature": sig})
            times.append(time.perf_counter() - t0)
            if r.status_code != 204:
                raise SystemExit(f"unexpected answer {r.status_code}: {r.text[:200]}")
    return times


def show(name: str, times: list[float], ceiling: float | None) -> float:
    rate = len(times) / sum(times)
    q = statistics.quantiles(times, n=100)
    ratio = f"  {rate / ceiling:5.0%} of ceiling" if ceiling else ""
    print(f"{name:<10} {rate:8.0f} req/s   median {statistics.median(times) * 1e3:6.2f} ms   "
          f"p95 {q[94] * 1e3:6.2f} ms{ratio}")
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = (Database(f"sqlite:///{Path(tmp) / 'bench.db'}") if a.backend == "sqlite"
              else Database(a.pg_url, schema=f"twilio_bench_{int(time.time())}"))
        db.upgrade()
        try:
            clock = ManualClock(datetime(2026, 11, 23, 8, tzinfo=UTC))
            helpdesk = Helpdesk(lambda: SqlUnitOfWork(db), clock, PolicyBook("panenco"))
            desk = PhoneDesk(helpdesk, lambda: SqlUnitOfWork(db), clock, PhonePolicy())
            sids = [f"CA{i:032x}" for i in range(a.requests)]
            with SqlUnitOfWork(db) as uow:
                for sid in sids:
                    uow.phone.add_call(PhoneCall(sid, "out", "", "+32470000001", clock.now()))
                uow.commit()
            bodies = [{"CallSid": s, "CallStatus": "ringing", "AccountSid": "AC" + "0" * 32}
                      for s in sids]
            print(f"{a.requests} signed status callbacks, one client, backend {a.backend}")
            port = free_port()
            public = f"http://127.0.0.1:{port}"
            with Served(ceiling_routes(public), port) as base:
                run(base, public, bodies[:50])  # warm-up
                ceiling = show("ceiling", run(base, public, bodies), None)
            component = TwilioComponent(desk, TOKEN, public, poll_seconds=3600)
            with Served(list(component.routes()), port) as base:
                show("status", run(base, public, bodies), ceiling)
                show("duplicate", run(base, public, bodies), ceiling)
            with SqlUnitOfWork(db) as uow:
                moved = sum(1 for s in sids if (c := uow.phone.call(s)) and c.status == "ringing")
            print(f"calls moved to ringing: {moved} of {len(sids)}")
        finally:
            db.drop_schema()
            db.dispose()


if __name__ == "__main__":
    main()
