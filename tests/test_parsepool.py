"""Parsing in other processes (``adapters/mail/parsepool.py``): real spawned processes give
the same parses as the intake's own thread, a chunk not yet begun is taken back, a broken pool
is replaced, and a backlog processed with the pool ends as one processed without it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adapters.mail.parsepool import ProcessParser
from adapters.storage import SqlUnitOfWork
from bot.mail.errors import Unparseable
from bot.mail.intake import parse_all
from bot.mail.parse import Limits
from tests.conftest import missing_peer
from tests.mailbot import Bot, mail, reply_to

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
UNPARSEABLE = [b"", b"\x00\x01 not mail at all"]


def _corpus(n: int) -> list[bytes]:
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix in (".eml", ".msg"))
    if not files:
        missing_peer(f"the shared mail corpus at {CORPUS}")
    return [p.read_bytes() for p in files[:n]]


def _same(a: object, b: object) -> bool:
    if isinstance(a, Unparseable):
        return isinstance(b, Unparseable) and a.reason == b.reason
    return a == b


def _warm(parser: ProcessParser) -> None:
    """Wait for the pool's worker to be up (spawning takes a while)."""
    assert parser._executor().submit(parse_all, [], Limits()).result(timeout=60) == []


def test_the_pool_parses_as_the_intake_does_including_what_cannot_be_parsed() -> None:
    raws = UNPARSEABLE + _corpus(58)  # in the first chunk, which the pool always parses
    chunks = [raws[i:i + 20] for i in range(0, len(raws), 20)]
    parser = ProcessParser(1)
    try:
        _warm(parser)
        calls = [parser.submit(chunk, Limits()) for chunk in chunks]
        time.sleep(0.5)  # the worker has begun the first chunk
        results = [call() for call in calls]
    finally:
        parser.close()
    assert results[0] is not None and parser.parsed_here >= 1
    assert parser.parsed_here + parser.taken_back == len(chunks)
    for chunk, got in zip(chunks, results, strict=True):
        if got is None:
            continue  # taken back: the intake would parse it itself
        here = parse_all(chunk, Limits())
        assert len(got) == len(here)
        assert all(_same(a, b) for a, b in zip(got, here, strict=True))
        assert all(type(a.headers) is type(b.headers) for a, b in zip(got, here, strict=True)
                   if not isinstance(a, Unparseable))
    # what cannot be parsed comes back from the pool as the caller's own Unparseable
    first = results[0]
    assert first is not None
    pooled = first[:len(UNPARSEABLE)]
    assert all(isinstance(x, Unparseable) for x in pooled)
    assert all(_same(a, b) for a, b in zip(pooled, parse_all(UNPARSEABLE, Limits()), strict=True))


def test_a_chunk_not_begun_is_taken_back_and_a_broken_pool_is_replaced() -> None:
    raws = _corpus(10) + UNPARSEABLE
    parser = ProcessParser(1)
    try:
        calls = [parser.submit(raws, Limits()) for _ in range(6)]
        assert calls[-1]() is None and parser.taken_back == 1  # the worker had 2 at most
        assert calls[0]() is not None  # begun: waited for
    finally:
        parser.close()
    # (a fresh pool: CPython 3.11 trips over a cancelled chunk when its pool breaks)
    parser = ProcessParser(1)
    try:
        _warm(parser)
        pool = parser._executor()
        for pid in list(pool._processes):  # the stdlib's record of its workers
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        broken = None
        while broken is None and time.monotonic() < deadline:
            broken = parser.submit(raws, Limits())()
            if broken is not None:
                time.sleep(0.05)
                broken = None
            else:
                break
        assert broken is None  # told to parse in the caller
        again = None
        while again is None and time.monotonic() < deadline:
            again = parser.submit(raws, Limits())()
            time.sleep(0.05)
        assert again is not None and len(again) == len(raws)  # a new pool took over
    finally:
        parser.close()


@pytest.mark.parametrize("processes", [0, 1])
def test_a_backlog_processed_with_or_without_the_pool_ends_the_same(
        make_bot, processes: int) -> None:  # type: ignore[no-untyped-def]
    bot: Bot = make_bot(parse_processes=processes)
    bot.app.mail.batch_size = 4
    first = mail("ann@acme.example", "Checkout down", "Nothing works since this morning.")
    msgs = [first] + [mail(f"user{i}@acme.example", f"Report {i}", "Export broken.")
                      for i in range(23)] + [reply_to(first, "bob@acme.example", "Same.")]
    for m in msgs:
        bot.send(m)
    outcomes = bot.process()
    parser = bot.app.mail.parser
    if processes:
        assert isinstance(parser, ProcessParser)
        # all but the first PARSE_AHEAD_CHUNK messages were handed over, a chunk at a time
        assert parser.parsed_here + parser.taken_back == 2
    else:
        assert parser is None
    assert [o.state for o in outcomes] == ["done"] * 25
    assert [o.action for o in outcomes][-1] == "follow-up"
    assert outcomes[-1].reference == outcomes[0].reference
    with SqlUnitOfWork(bot.app.db, write=False) as uow:
        subjects = sorted(t.subject for t in uow.tickets.list())
    assert subjects == sorted(["Checkout down"] + [f"Report {i}" for i in range(23)])
    assert len(bot.deliver()) == 24  # one acknowledgement per new ticket


OWNER = """
import multiprocessing, sys, time
from adapters.mail.parsepool import ProcessParser
from bot.mail.parse import Limits
if __name__ == "__main__":
    parser = ProcessParser(1)
    parser._executor().submit(len, []).result(timeout=60)
    print(*[p.pid for p in multiprocessing.active_children()], flush=True)
    time.sleep(120)
"""


def test_a_parser_process_exits_when_its_bot_is_killed_outright(tmp_path: Path) -> None:
    script = tmp_path / "owner.py"
    script.write_text(OWNER)
    root = Path(__file__).resolve().parents[1]
    owner = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                             cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    try:
        assert owner.stdout is not None
        pids = [int(p) for p in owner.stdout.readline().split()]
        assert pids and all(_alive(p) for p in pids)
    finally:
        owner.kill()  # SIGKILL: the pool is never shut down
        owner.wait()
    deadline = time.monotonic() + 15
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][0] != "Z"
    except FileNotFoundError:
        return False
