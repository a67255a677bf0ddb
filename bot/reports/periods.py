"""Reporting periods as a policy defines them: biweekly sprints from an anchor date, or
calendar-like months, quarters and years counted from the anchor.

A period is a range of local dates ``[first, end)`` in the policy's time zone; its instants run
from local midnight of ``first`` to local midnight of ``end``. Time logic gets ``today`` as an
argument; nothing here reads a clock.
"""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.sla.policy import Compliance

_MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12}


class PeriodError(ValueError):
    """A period written wrongly (``--period``)."""


@dataclass(frozen=True)
class Period:
    """Local dates ``first`` (included) to ``end`` (excluded)."""

    first: date
    end: date

    @property
    def last(self) -> date:
        return self.end - timedelta(days=1)

    def start_at(self, tz: ZoneInfo) -> datetime:
        return datetime(self.first.year, self.first.month, self.first.day, tzinfo=tz)

    def end_at(self, tz: ZoneInfo) -> datetime:
        return datetime(self.end.year, self.end.month, self.end.day, tzinfo=tz)

    def __str__(self) -> str:
        return f"{self.first.isoformat()}/{self.last.isoformat()}"


def _add_months(anchor: date, months: int) -> date:
    y, m = divmod(anchor.month - 1 + months, 12)
    year, month = anchor.year + y, m + 1
    return date(year, month, min(anchor.day, _calendar.monthrange(year, month)[1]))


def period_containing(compliance: Compliance, day: date) -> Period:
    """The period of ``compliance`` (counted from its anchor, both ways) that holds ``day``."""
    anchor = compliance.anchor
    if compliance.period == "biweekly":
        k = (day - anchor).days // 14
        first = anchor + timedelta(days=14 * k)
        return Period(first, first + timedelta(days=14))
    step = _MONTHS[compliance.period]
    k = ((day.year - anchor.year) * 12 + day.month - anchor.month) // step
    while _add_months(anchor, k * step) > day:
        k -= 1
    while _add_months(anchor, (k + 1) * step) <= day:
        k += 1
    return Period(_add_months(anchor, k * step), _add_months(anchor, (k + 1) * step))


def previous_period(compliance: Compliance, period: Period) -> Period:
    return period_containing(compliance, period.first - timedelta(days=1))


def parse_period(spec: str, compliance: Compliance, today: date) -> Period:
    """``current``, ``previous`` or ``YYYY-MM-DD/YYYY-MM-DD`` (first and last day, both
    included). Raises PeriodError with the accepted forms."""
    text = spec.strip().lower()
    if text == "current":
        return period_containing(compliance, today)
    if text == "previous":
        return previous_period(compliance, period_containing(compliance, today))
    a, sep, b = text.partition("/")
    try:
        if not sep:
            raise ValueError
        first, last = date.fromisoformat(a), date.fromisoformat(b)
    except ValueError:
        raise PeriodError(f"{spec!r} is not a period (expected current, previous or "
                         "YYYY-MM-DD/YYYY-MM-DD, first and last day)") from None
    if last < first:
        raise PeriodError(f"{spec!r}: the last day is before the first")
    return Period(first, last + timedelta(days=1))
