"""How instants, durations and phone numbers read in text for people: Slack posts, mails, SMS
and voice text, alerts, reminders and the command line.

Everything is rounded to the minute (to the nearest one, half a minute up), instants are shown
in the policy's time zone, and phone numbers are grouped the way their country writes them.
Machine forms (JSON, logs, keys) keep exact ISO 8601 and E.164 and do not come through here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import phonenumbers

_MINUTE = timedelta(minutes=1)
_HALF = timedelta(seconds=30)
_E164 = re.compile(r"(?<![\w+])\+[1-9]\d{6,14}\b")
_ISO = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:[+-]\d\d:\d\d|Z)")


def to_minute(dt: datetime) -> datetime:
    """``dt`` rounded to the nearest minute (30 s rounds up)."""
    base = dt.replace(second=0, microsecond=0)
    return base + _MINUTE if dt - base >= _HALF else base


def when(dt: datetime | None, tz: tzinfo, *, year: bool = True) -> str:
    """``Mon 23 Nov 2026 10:00 CET``: ``dt`` in ``tz``, to the minute; ``-`` for None."""
    if dt is None:
        return "-"
    # round in UTC, so a rounding across a change of offset lands on a real instant
    local = to_minute(dt.astimezone(UTC)).astimezone(tz)
    return local.strftime("%a %d %b %Y %H:%M %Z" if year else "%a %d %b %H:%M %Z")


def duration(d: timedelta) -> str:
    """``7h59m``, ``2m``, ``under 1m``, ``0m``: to the nearest minute, hours at most (working
    time is counted in working hours, not days); negative with a leading ``-``."""
    sign = "-" if d < timedelta(0) else ""
    d = abs(d)
    if timedelta(0) < d < _HALF:
        return f"{sign}under 1m"
    minutes = int((d + _HALF) // _MINUTE)
    h, m = divmod(minutes, 60)
    if not minutes:
        return "0m"
    return sign + (f"{h}h" if h else "") + (f"{m}m" if m or not h else "")


def phone(number: str | None) -> str:
    """``+3216000000`` -> ``+32 16 00 00 00`` (international form, grouped as the country
    writes it); anything the library cannot read comes back unchanged."""
    if not number:
        return number or ""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    if not phonenumbers.is_possible_number(parsed):
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def value(v: Any, tz: tzinfo | None = None) -> str:
    """One recorded value (an event's data) for reading: E.164 numbers grouped and ISO
    instants (also inside a note) in ``tz`` to the minute when ``tz`` is given, lists joined,
    the rest as ``str``."""
    if isinstance(v, list | tuple):
        return ", ".join(value(x, tz) for x in v)
    if isinstance(v, datetime) and tz is not None:
        return when(v, tz)
    if isinstance(v, str):
        if tz is not None:
            v = _ISO.sub(lambda m: _instant(m.group(0), tz), v)
        return _E164.sub(lambda m: phone(m.group(0)), v)
    return str(v)


def _instant(text: str, tz: tzinfo) -> str:
    try:
        return when(datetime.fromisoformat(text.replace("Z", "+00:00")), tz)
    except ValueError:
        return text


__all__ = ["duration", "phone", "to_minute", "value", "when"]
