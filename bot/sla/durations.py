"""Durations as policy files write them: ``2h``, ``90m``, ``1h30m``, ``45s``, ``10wd``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

_FORM = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?")
_WD = re.compile(r"(\d+)wd")
_LIMIT = timedelta(days=36_500)


@dataclass(frozen=True)
class WorkingDays:
    """A count of working days (``10wd``): the deadline is the close of the n-th one."""

    days: int

    def __str__(self) -> str:
        return f"{self.days}wd"


def parse_duration(text: str, *, allow_working_days: bool = False) -> timedelta | WorkingDays:
    """Parse ``2h``, ``30m``, ``1h30m``, ``45s``, ``1.5h`` (and ``10wd`` when allowed).

    Units come in the order h, m, s, each at most once. Raises ValueError with a readable reason
    for anything else, including values that are zero, negative or absurdly large.
    """
    raw = text.strip().lower().replace(" ", "")
    expected = "'2h', '30m', '1h30m', '45s'" + (" or '10wd'" if allow_working_days else "")
    if not raw:
        raise ValueError(f"empty duration (expected e.g. {expected})")
    if "wd" in raw:
        if not allow_working_days:
            raise ValueError(f"{text!r}: working days are not allowed here (use h, m or s)")
        m = _WD.fullmatch(raw)
        if not m:
            if re.search(r"\d(?:h|m|s)|(?:h|m|s)\d", raw):
                raise ValueError(f"{text!r}: do not mix working days with hours or minutes")
            raise ValueError(f"{text!r} is not a whole number of working days (e.g. '10wd')")
        days = int(m.group(1))
        if days <= 0:
            raise ValueError(f"{text!r}: must be more than zero")
        if days > 3650:
            raise ValueError(f"{text!r}: more than 3650 working days is not a deadline")
        return WorkingDays(days)
    m = _FORM.fullmatch(raw)
    if not raw or not m or not any(m.groups()):
        raise ValueError(f"{text!r} is not a duration (expected e.g. {expected})")
    h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    seconds = h * 3600 + mi * 60 + s
    if seconds > _LIMIT.total_seconds():
        raise ValueError(f"{text!r}: more than 100 years is not a target")
    d = timedelta(seconds=seconds)
    if d <= timedelta(0):
        raise ValueError(f"{text!r}: must be more than zero (at least one microsecond)")
    return d


def format_duration(d: timedelta) -> str:
    """``timedelta(hours=1, minutes=30)`` -> ``1h30m``; exact (``1.5s``), shortest form."""
    sign = "-" if d < timedelta(0) else ""
    d = abs(d)
    whole = d.days * 86_400 + d.seconds
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    sec = f"{s}.{d.microseconds:06d}".rstrip("0") if d.microseconds else str(s)
    parts = [f"{h}h" if h else "", f"{m}m" if m else "",
             f"{sec}s" if s or d.microseconds else ""]
    return sign + ("".join(parts) or "0m")
