"""Progress of long commands (``import``, ``report`` over a long period, ``tracker sync``).

On a terminal, stderr gets a tqdm bar (tqdm: small, no dependencies of its own, and it redraws
in place without owning the screen); otherwise, as in a log or a pipe, a plain line at each
tenth of the way (``120/1200 messages (taken=118)``). Results go to stdout, never mixed in.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Mapping

import click

Postfix = Callable[[], Mapping[str, int]]


class Progress:
    """``advance(done)`` as the work goes, ``close()`` at the end (or on an interruption)."""

    def __init__(self, total: int, *, unit: str, what: str,
                 postfix: Postfix | None = None) -> None:
        self.total = total
        self.what = what
        self.postfix = postfix
        self._done = 0
        self._step = max(1, total // 10)
        self._bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            # a terminal that reports no size (a bare pty: 0 x 0) would hide the bar
            size = shutil.get_terminal_size()
            self._bar = tqdm(total=total, unit=unit, file=sys.stderr,
                             ncols=min(size.columns or 80, 120), nrows=max(size.lines, 2))

    def advance(self, done: int) -> None:
        """``done`` of ``total`` are finished (it only grows)."""
        step, self._done = done - self._done, done
        if self._bar is not None:
            self._bar.update(step)
            if self.postfix is not None:
                self._bar.set_postfix(self.postfix(), refresh=False)
            return
        if done % self._step == 0 or done == self.total:
            extra = ""
            if self.postfix is not None:
                extra = " (" + ", ".join(f"{k}={v}" for k, v in self.postfix().items()) + ")"
            click.echo(f"{done}/{self.total} {self.what}{extra}", err=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
