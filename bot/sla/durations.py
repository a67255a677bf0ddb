"""Durations as policy files write them: ``2h``, ``90m``, ``1h30m``, ``45s`` and working days ``10wd``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(wd|h|m|s)")
_UNITS = {"h": 3600, "m": 60, "s": 1}


@dataclass(frozen=True)
class WorkingDays:
    """A count of working days of a calendar (``10wd``): the deadline is the close of the n-th one."""

    days: int

    def __str__(self) -> str:
        return f"{self.days}wd"


def parse_duration(text: str, *, allow_working_days: bool = False) -> timedelta | WorkingDays:
    """Parse ``2h``, ``30m``, ``1h30m``, ``45s`` (and ``10wd`` when allowed).

    Raises ValueError with a readable reason for anything else, including zero or negative values.
    """
    raw = text.strip().lower().replace(" ", "")
    if not raw:
        raise ValueError("empty duration (expected e.g. '2h', '30m', '1h30m')")
    pos = 0
    seconds = 0.0
    wd: int | None = None
    for m in _PART.finditer(raw):
        if m.start() != pos:
            break
        pos = m.end()
        value, unit = float(m.group(1)), m.group(2)
        if unit == "wd":
            if not allow_working_days:
                raise ValueError(f"{text!r}: working days are not allowed here (use h, m or s)")
            if value != int(value):
                raise ValueError(f"{text!r}: working days must be a whole number")
            wd = int(value)
        else:
            seconds += value * _UNITS[unit]
    if pos != len(raw) or pos == 0:
        expected = "'2h', '30m', '1h30m', '45s'" + (" or '10wd'" if allow_working_days else "")
        raise ValueError(f"{text!r} is not a duration (expected e.g. {expected})")
    if wd is not None:
        if seconds:
            raise ValueError(f"{text!r}: do not mix working days with hours or minutes")
        if wd <= 0:
            raise ValueError(f"{text!r}: must be more than zero")
        return WorkingDays(wd)
    if seconds <= 0:
        raise ValueError(f"{text!r}: must be more than zero")
    return timedelta(seconds=seconds)


def format_duration(d: timedelta) -> str:
    """``timedelta(hours=1, minutes=30)`` -> ``1h30m``; exact, shortest form."""
    total = int(d.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    parts = [f"{h}h" if h else "", f"{m}m" if m else "", f"{s}s" if s else ""]
    return sign + ("".join(parts) or "0m")
