"""The tables of a policy file as pydantic models; each builds the part of a Policy it holds."""

from __future__ import annotations

import dataclasses
import re
from datetime import date, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.priority import Priority
from bot.sla.calendar import Calendar, Window
from bot.sla.closed_days import WEEKDAYS, ClosedDays, NamedDay
from bot.sla.policy import ReminderRule
from bot.sla.policy_fields import (
    DAY_GROUPS,
    Deadline,
    Duration,
    EventField,
    PriorityField,
    ReminderShare,
    Repeat,
    Share,
    Span,
    TimeZoneName,
    WindowKey,
    span,
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


class _Meta(_Strict):
    name: str
    title: str
    document: str = ""
    provider: str = ""


class _NamedDay(_Strict):
    name: str
    date: str | None = Field(None, description="MM-DD of a fixed day")
    easter: int | None = Field(None, description="days after Easter Sunday")
    move: dict[str, int] = {}

    @model_validator(mode="after")
    def _one_rule(self) -> _NamedDay:
        if (self.date is None) == (self.easter is None):
            raise ValueError(f"{self.name!r}: give exactly one of 'date' (MM-DD) or 'easter'")
        if self.date is not None:
            m = re.fullmatch(r"(\d{2})-(\d{2})", self.date)
            if not m:
                raise ValueError(f"{self.name!r}: date {self.date!r} is not MM-DD")
            try:
                date(2024, int(m[1]), int(m[2]))
            except ValueError:
                raise ValueError(f"{self.name!r}: date {self.date!r} is not a day of the year "
                                 "(MM-DD)") from None
        for k in self.move:
            if k not in WEEKDAYS:
                raise ValueError(f"{self.name!r}: move key {k!r} is not a weekday (mon..sun)")
        return self

    def build(self) -> NamedDay:
        move = tuple((WEEKDAYS.index(k), v) for k, v in sorted(self.move.items()))
        if self.date is not None:
            month, day = map(int, self.date.split("-"))
            return NamedDay(self.name, month=month, day=day, move=move)
        return NamedDay(self.name, easter_offset=self.easter, move=move)


class _Closed(_Strict):
    date: date
    name: str = "closed"
    window: Span | None = None
    """Only this part of the day is closed (``13:00-18:00``); none: the whole day."""


class Holidays(_Strict):
    country: str | None = None
    subdivision: str | None = None
    language: str = "en_US"
    days: list[_NamedDay] = []


class _Calendar(_Strict):
    timezone: TimeZoneName
    windows: dict[WindowKey, list[Span]]
    holidays: Holidays = Holidays()
    closed: list[_Closed] = []

    def build(self) -> Calendar:
        per_day: dict[int, list[Window]] = {}
        for k, spans in self.windows.items():
            for wd in DAY_GROUPS[k]:
                per_day.setdefault(wd, []).extend(span(s) for s in spans)
        closed = ClosedDays(
            country=self.holidays.country,
            subdivision=self.holidays.subdivision,
            language=self.holidays.language,
            named=tuple(d.build() for d in self.holidays.days),
            extra={c.date: c.name for c in self.closed if c.window is None},
        )
        partly: dict[date, list[tuple[Window, str]]] = {}
        for c in self.closed:
            if c.window is not None:
                partly.setdefault(c.date, []).append((span(c.window), c.name))
        return Calendar(self.timezone, per_day, closed, partly)


class _Clock(_Strict):
    description: str = ""
    start: list[EventField]
    stop: list[EventField]
    pause: list[EventField] = []
    resume: list[EventField] = []
    reopen: list[EventField] = []
    repeats: bool = False
    targets: dict[PriorityField, Duration]

    @model_validator(mode="after")
    def _check(self) -> _Clock:
        if bool(self.pause) != bool(self.resume):
            raise ValueError("pause and resume go together: give both or neither")
        if self.repeats and self.reopen:
            raise ValueError("a repeating clock starts again at its start events: reopen "
                             "has no meaning for it (list `reopened` in start instead)")
        return self


class _Priorities(_Strict):
    set_by: Literal["client", "provider"] = "client"
    default: PriorityField = Priority.P3
    phone_followup: list[PriorityField] = [Priority.P1]


class _Compliance(_Strict):
    period: Literal["biweekly", "monthly", "quarterly", "yearly"]
    anchor: date
    targets: dict[str, Share]
    open_at_period_end: Literal["breached-if-late-else-carried", "carried"] = \
        "breached-if-late-else-carried"


class _Credit(_Strict):
    clock: str
    priorities: list[PriorityField]
    share_of_invoice: Share
    free_breaches: int = Field(1, ge=0)


class _Maintenance(_Strict):
    notice: Deadline | None = None


class _Intake(_Strict):
    slack_group_window: Duration = timedelta(minutes=2)


class _Availability(_Strict):
    target: Share | None = None


class _Changes(_Strict):
    approval: bool = False


Recipient = Literal["triage", "assignee", "manager", "oncall"]
"""Who a reminder step tells: the triage channel, the assignee (Slack DM and mail when the
triage channel is not told too), the staff whose role is manager (DM and mail), on-call (SMS;
and a call for a P1's breach)."""


class _ReminderFields(_Strict):
    """Fields of a reminder rule; None means "not said here" (an earlier level decides)."""

    shares: list[ReminderShare] | None = None
    before: list[Duration] | None = None
    breach: bool | None = None
    repeat_every: Repeat | None = None
    outside_window: bool | None = None
    notify: list[Recipient] | None = None
    ladder: dict[str, list[Recipient]] | None = None
    """Who is told at each threshold (``"50%"``, ``"30m-left"``, ``breach``); a threshold not
    named tells ``notify``'s recipients."""

    def apply(self, rule: ReminderRule) -> ReminderRule:
        changes: dict[str, Any] = {}
        if self.shares is not None:
            changes["shares"] = tuple(sorted(set(self.shares)))
        if self.before is not None:
            changes["before"] = tuple(sorted(set(self.before), reverse=True))
        if self.breach is not None:
            changes["breach"] = self.breach
        if self.repeat_every is not None:
            changes["repeat_every"] = self.repeat_every or None
        if self.outside_window is not None:
            changes["outside_window"] = self.outside_window
        if self.notify is not None:
            changes["notify"] = tuple(dict.fromkeys(self.notify))
        if self.ladder is not None:
            steps = {**dict(rule.ladder), **{k: tuple(dict.fromkeys(v))
                                             for k, v in self.ladder.items()}}
            changes["ladder"] = tuple(sorted(steps.items()))
        return dataclasses.replace(rule, **changes) if changes else rule


class _ReminderOverride(_ReminderFields):
    clocks: list[str] = []  # none: every clock
    priorities: list[PriorityField] = []  # none: every priority


class _Reminders(_ReminderFields):
    rules: list[_ReminderOverride] = []

    def build(self, clocks: list[str]) -> dict[tuple[str, Priority], ReminderRule]:
        out = {}
        for clock in clocks:
            for p in Priority:
                rule = self.apply(ReminderRule())
                for o in self.rules:
                    if (not o.clocks or clock in o.clocks) and (not o.priorities or
                                                                p in o.priorities):
                        rule = o.apply(rule)
                out[(clock, p)] = rule
        return out


class _Waiting(_Strict):
    """``[waiting]``: see ``bot.sla.policy.WaitingRule``. ``pauses`` None: the resolution
    clock, if the policy has one."""

    pauses: list[str] | None = None
    after: Deadline | None = None
    nudge: bool = True
    resolve: bool = True


class PolicyFile(_Strict):
    """A whole policy file, as written (``config/policies/README.md``)."""

    policy: _Meta
    calendar: _Calendar
    priorities: _Priorities = _Priorities()
    clocks: dict[str, _Clock]
    compliance: _Compliance
    credits: list[_Credit] = []
    deadlines: dict[str, Deadline] = {}
    maintenance: _Maintenance = _Maintenance()
    availability: _Availability = _Availability()
    changes: _Changes = _Changes()
    intake: _Intake = _Intake()
    reminders: _Reminders = _Reminders()
    waiting: _Waiting = _Waiting()
    placeholders: list[str] = []
