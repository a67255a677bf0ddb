"""The client process: one thread and one persistent smtplib connection per client, spawned so
the clients' Python work does not take the server's GIL."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import re
import smtplib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.intake.messages import SUPPORT, small_messages

QUEUED_AS = re.compile(rb"queued as (\d+)")
LEADING_DOT = re.compile(rb"(?m)^\.")


@dataclass
class LevelResult:
    clients: int
    sent: int
    wall: float
    latencies: list[float]  # seconds, per message answered 250
    replies: list[tuple[int | None, float]]  # (inbound id, 250 instant as time.time())
    errors: int
    first_error: str = ""


def _client_thread(port: int, msgs: Sequence[tuple[bytes, str]], ready: threading.Barrier,
                   out: list[Any]) -> None:
    lat: list[float] = []
    replies: list[tuple[int | None, float]] = []
    errors, first = 0, ""
    try:
        c = smtplib.SMTP("127.0.0.1", port, timeout=120)
        c.ehlo("bench.example")
    except Exception as e:
        ready.wait()
        out.append((lat, replies, len(msgs), f"connect: {e}"))
        return
    payloads = []
    for raw, sender in msgs:
        q = LEADING_DOT.sub(b"..", raw)
        if not q.endswith(b"\r\n"):
            q += b"\r\n"
        payloads.append((q + b".\r\n", sender))
    ready.wait()
    for payload, sender in payloads:
        try:
            code, resp = c.mail(sender)
            if code == 250:
                code, resp = c.rcpt(SUPPORT)
            if code == 250:
                c.putcmd("data")
                code, resp = c.getreply()
            if code != 354:
                raise smtplib.SMTPResponseException(code, resp)
            c.send(payload)
            t0 = time.perf_counter()
            code, resp = c.getreply()
            t1 = time.perf_counter()
            wall = time.time()
            if code != 250:
                raise smtplib.SMTPResponseException(code, resp)
            lat.append(t1 - t0)
            m = QUEUED_AS.search(resp)
            replies.append((int(m.group(1)) if m else None, wall))
        except Exception as e:
            errors += 1
            first = first or f"{type(e).__name__}: {e}"
            with contextlib.suppress(Exception):
                c.rset()
    with contextlib.suppress(Exception):
        c.quit()
    out.append((lat, replies, errors, first))


def run_level(port: int, clients: int, messages: int, tag: str, seed: int) -> LevelResult:
    msgs = small_messages(messages, tag, seed)
    ready = threading.Barrier(clients + 1)
    out: list[Any] = []
    threads = [threading.Thread(target=_client_thread, args=(port, msgs[k::clients], ready, out))
               for k in range(clients)]
    for t in threads:
        t.start()
    ready.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat = [x for o in out for x in o[0]]
    replies = [x for o in out for x in o[1]]
    return LevelResult(clients, messages, wall, lat, replies, sum(o[2] for o in out),
                       next((o[3] for o in out if o[3]), ""))


def client_process(conn: Any) -> None:
    """Runs in the client process: each request is one level, answered with a LevelResult."""
    while True:
        req = conn.recv()
        if req is None:
            return
        conn.send(run_level(**req))


class Clients:
    """The client process (spawned: no inherited threads or connections)."""

    def __init__(self) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=client_process, args=(child,), daemon=True)
        self.proc.start()

    def level(self, port: int, clients: int, messages: int, tag: str, seed: int) -> LevelResult:
        self.conn.send({"port": port, "clients": clients, "messages": messages, "tag": tag,
                        "seed": seed})
        res: LevelResult = self.conn.recv()
        return res

    def close(self) -> None:
        self.conn.send(None)
        self.proc.join(timeout=10)
