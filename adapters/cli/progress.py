"""Progress of long commands (``import``, ``report`` over a long period, ``tracker sync``).

On a terminal, stderr gets a tqdm bar (tqdm: small, no dependencies of its own, and it redraws
in place without owning the screen); otherwise, as in a log or a pipe, a plain line at each
tenth of the way (``120/1200 messages (taken=118)``). Results go to stdout, never mixed in.
"""

from __future__ import annotations

import shutil
import sys
from typing import Any

import click


class Progress:
    """``advance(done, total, **figures)`` as the work goes, ``close()`` at the end (or on an
    interruption). Nothing shows for work of fewer than ``minimum`` items."""

    def __init__(self, *, unit: str, what: str, minimum: int = 0) -> None:
        self.unit = unit
        self.what = what
        self.minimum = minimum
        self._done = 0
        self._bar: Any = None

    def advance(self, done: int, total: int, **figures: int) -> None:
        """``done`` of ``total`` are finished (it only grows); ``figures`` are shown beside."""
        if total < self.minimum:
            return
        if self._bar is None and self._done == 0 and sys.stderr.isatty():
            from tqdm import tqdm

            # a terminal that reports no size (a bare pty: 0 x 0) would hide the bar
            size = shutil.get_terminal_size()
            self._bar = tqdm(total=total, unit=self.unit, file=sys.stderr,
                             ncols=min(size.columns or 80, 120), nrows=max(size.lines, 2))
        step, self._done = done - self._done, done
        if self._bar is not None:
            self._bar.update(step)
            if figures:
                self._bar.set_postfix(figures, refresh=False)
            return
        if done % max(1, total // 10) == 0 or done == total:
            extra = " (" + ", ".join(f"{k}={v}" for k, v in figures.items()) + ")" \
                if figures else ""
            click.echo(f"{done}/{total} {self.what}{extra}", err=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
