"""Which local dates a calendar is closed on, and why.

Three sources, combined: a country's public holidays from the ``holidays`` package (with an
optional subdivision), an explicit list of named days (fixed dates, Easter-relative days, and days
that move when they fall on a given weekday, like the Dutch King's Day), and extra closed dates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def easter_sunday(year: int) -> date:
    """Western (Gregorian) Easter Sunday, by the anonymous Gregorian algorithm."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return date(year, month, day + 1)


@dataclass(frozen=True)
class NamedDay:
    """One holiday of an explicit list.

    Either a fixed ``month``/``day`` or an ``easter_offset`` (days after Easter Sunday; Easter
    Monday is 1, Ascension 39, Whit Monday 50). ``move`` shifts the day when it falls on a given
    weekday: ``((6, -1),)`` moves a Sunday to the Saturday before (King's Day).
    """

    name: str
    month: int | None = None
    day: int | None = None
    easter_offset: int | None = None
    move: tuple[tuple[int, int], ...] = ()

    def date_in(self, year: int) -> date | None:
        """The day in ``year``, moved if it falls on a moving weekday; None for 29 February of
        a common year."""
        if self.easter_offset is not None:
            d = easter_sunday(year) + timedelta(days=self.easter_offset)
        else:
            assert self.month is not None and self.day is not None
            try:
                d = date(year, self.month, self.day)
            except ValueError:
                return None
        shift = dict(self.move).get(d.weekday())
        return d + timedelta(days=shift) if shift else d


@dataclass(frozen=True)
class ClosedDays:
    """The closed dates of a calendar: country holidays, named days and extra dates."""

    country: str | None = None
    subdivision: str | None = None
    language: str = "en_US"
    named: tuple[NamedDay, ...] = ()
    extra: Mapping[date, str] = field(default_factory=dict)

    def in_year(self, year: int) -> dict[date, str]:
        """Every closed date of ``year`` with its name (the first source to name a date wins)."""
        return dict(_closed_in_year(self, year))

    def name_of(self, d: date) -> str | None:
        return _closed_in_year(self, d.year).get(d)

    def __hash__(self) -> int:  # extra is a Mapping: hash what identifies the calendar
        return hash((self.country, self.subdivision, self.language, self.named,
                     tuple(sorted(self.extra.items()))))


@lru_cache(maxsize=512)
def _closed_in_year(spec: ClosedDays, year: int) -> Mapping[date, str]:
    out: dict[date, str] = {}
    if spec.country:
        import holidays  # imported lazily: building the country tables is the slow part

        table = holidays.country_holidays(
            spec.country, subdiv=spec.subdivision, years=year, language=spec.language
        )
        for d, name in sorted(table.items()):
            out.setdefault(d, name)
    for nd in spec.named:
        # a moved day can cross the year's edge (1 Jan on a Saturday observed on 31 Dec)
        for y in (year - 1, year, year + 1):
            d = nd.date_in(y)
            if d is not None and d.year == year:
                out.setdefault(d, nd.name)
    for d, name in spec.extra.items():
        if d.year == year:
            out.setdefault(d, name)
    return out
