"""Parsing a backlog in other processes, so the processing thread keeps its core (and the GIL
it shares with the SMTP loop) for storage and classification.

The pool starts on first use, with ``spawn`` (the bot's process has threads: ``fork`` would
copy their locks in whatever state they are). A chunk the pool has not begun when the intake
reaches it is taken back (cancelled) and parsed by the intake itself, so nothing ever waits
for a pool that is still starting or busy elsewhere; a pool that breaks is dropped and started
again on the next backlog, the intake parsing meanwhile. A worker whose bot process is killed
outright exits within a second.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor

from bot.mail.intake import Parsed, parse_all
from bot.mail.parse import Limits

log = logging.getLogger("supportbot.intake")


def _watch_parent(parent: int) -> None:
    """In each worker: exit when the bot's process is gone (killed with SIGKILL, its pool
    never told to stop), rather than wait for work forever as an orphan."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class ProcessParser:
    """``BatchIntake``'s ``parser``: ``processes`` worker processes."""

    def __init__(self, processes: int = 1) -> None:
        self.processes = max(1, processes)
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self.taken_back = 0  # chunks the intake parsed itself (figures for the benchmark)
        self.parsed_here = 0  # chunks the pool parsed

    def submit(self, raws: list[bytes], limits: Limits) -> Callable[[], list[Parsed] | None]:
        try:
            future = self._executor().submit(parse_all, raws, limits)
        except Exception as e:  # shut down or broken: the intake parses
            log.warning("mail parser processes unavailable: %s", e)
            self._drop()
            return lambda: None
        return lambda: self._result(future)

    def _result(self, future: Future[list[Parsed]]) -> list[Parsed] | None:
        if future.cancel():  # not begun: quicker to parse it in the caller than to wait
            self.taken_back += 1
            return None
        try:
            got = future.result()
        except Exception as e:  # a worker died (killed, out of memory): parse in the caller
            log.warning("a mail parser process failed: %s", e)
            self._drop()
            return None
        self.parsed_here += 1
        return got

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    self.processes, mp_context=multiprocessing.get_context("spawn"),
                    initializer=_watch_parent, initargs=(os.getpid(),))
            return self._pool

    def _drop(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
