"""Loading and validating policy files (``config/policies/*.toml``).

The file format is described in ``config/policies/README.md``. Every mistake is reported as a
PolicyError naming the file, the key and what was expected.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import re
import threading
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from bot.errors import PolicyError
from bot.model import EventKind
from bot.priority import Priority
from bot.schema import config_error, read_toml
from bot.sla.calendar import Calendar, Window
from bot.sla.closed_days import WEEKDAYS, ClosedDays, NamedDay
from bot.sla.durations import WorkingDays, parse_duration
from bot.sla.policy import ClockSpec, Compliance, CreditRule, Policy, ReminderRule

_SPAN = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
_GROUPS = {
    "weekdays": (0, 1, 2, 3, 4),
    "weekend": (5, 6),
    "daily": (0, 1, 2, 3, 4, 5, 6),
    **{name: (i,) for i, name in enumerate(WEEKDAYS)},
}


def _span(text: str) -> Window:
    m = _SPAN.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a window (expected 'HH:MM-HH:MM', e.g. '09:00-18:00')")
    h1, m1, h2, m2 = map(int, m.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 23 or m1 > 59 or m2 > 59 or end > 1440:
        raise ValueError(f"{text!r}: not a time of day (24:00 is the latest end)")
    if end <= start:
        raise ValueError(f"{text!r}: the window ends before it starts")
    return (start, end)


def _duration(v: Any) -> timedelta:
    if not isinstance(v, str):
        raise ValueError(f"expected a duration string such as '2h' or '30m' (got {v!r})")
    d = parse_duration(v)
    assert isinstance(d, timedelta)
    return d


def _deadline(v: Any) -> timedelta | WorkingDays:
    if not isinstance(v, str):
        raise ValueError(f"expected a duration such as '10wd' or '72h' (got {v!r})")
    return parse_duration(v, allow_working_days=True)


def _priority(v: Any) -> Priority:
    if isinstance(v, Priority):
        return v
    if not isinstance(v, str):
        raise ValueError(f"expected P1, P2, P3 or P4 (got {v!r})")
    return Priority.parse(v)


def _event(v: Any) -> EventKind:
    try:
        return EventKind(v)
    except ValueError:
        known = ", ".join(e.value for e in EventKind)
        raise ValueError(f"unknown event {v!r} (known: {known})") from None


def _window_key(v: str) -> str:
    if v not in _GROUPS:
        raise ValueError(f"{v!r} is not a day (mon..sun, weekdays, weekend, daily)")
    return v


def _span_text(v: str) -> str:
    _span(v)
    return v


def _timezone(v: str) -> str:
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {v!r} (expected an IANA name such as "
                         "'Europe/Brussels')") from None
    return v


Duration = Annotated[timedelta, BeforeValidator(_duration)]
WindowKey = Annotated[str, AfterValidator(_window_key)]
Span = Annotated[str, AfterValidator(_span_text)]
TimeZoneName = Annotated[str, AfterValidator(_timezone)]
Deadline = Annotated[timedelta | WorkingDays, BeforeValidator(_deadline)]
PriorityField = Annotated[Priority, BeforeValidator(_priority)]
EventField = Annotated[EventKind, BeforeValidator(_event)]
Share = Annotated[float, Field(gt=0, le=1)]


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


class _Holidays(_Strict):
    country: str | None = None
    subdivision: str | None = None
    language: str = "en_US"
    days: list[_NamedDay] = []


class _Calendar(_Strict):
    timezone: TimeZoneName
    windows: dict[WindowKey, list[Span]]
    holidays: _Holidays = _Holidays()
    closed: list[_Closed] = []

    def build(self) -> Calendar:
        per_day: dict[int, list[Window]] = {}
        for k, spans in self.windows.items():
            for wd in _GROUPS[k]:
                per_day.setdefault(wd, []).extend(_span(s) for s in spans)
        closed = ClosedDays(
            country=self.holidays.country,
            subdivision=self.holidays.subdivision,
            language=self.holidays.language,
            named=tuple(d.build() for d in self.holidays.days),
            extra={c.date: c.name for c in self.closed},
        )
        return Calendar(self.timezone, per_day, closed)


class _Clock(_Strict):
    description: str = ""
    start: list[EventField]
    stop: list[EventField]
    pause: list[EventField] = []
    resume: list[EventField] = []
    reopen: list[EventField] = []
    targets: dict[PriorityField, Duration]

    @model_validator(mode="after")
    def _check(self) -> _Clock:
        if bool(self.pause) != bool(self.resume):
            raise ValueError("pause and resume go together: give both or neither")
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


class _Availability(_Strict):
    target: Share | None = None


class _Changes(_Strict):
    approval: bool = False


def _repeat(v: Any) -> timedelta:
    """``"30m"``, or ``"never"``: no repeats (kept as zero until the rule is built)."""
    if isinstance(v, str) and v.strip().lower() in {"never", "none"}:
        return timedelta(0)
    return _duration(v)


def _share(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v < 1:
        raise ValueError(f"expected a share of the target between 0 and 1, e.g. 0.75 (got {v!r});"
                         " the breach itself is `breach = true`")
    return float(v)


Repeat = Annotated[timedelta, BeforeValidator(_repeat)]
ReminderShare = Annotated[float, BeforeValidator(_share)]


class _ReminderFields(_Strict):
    """Fields of a reminder rule; None means "not said here" (an earlier level decides)."""

    shares: list[ReminderShare] | None = None
    before: list[Duration] | None = None
    breach: bool | None = None
    repeat_every: Repeat | None = None
    outside_window: bool | None = None
    notify: list[Literal["triage", "assignee", "oncall"]] | None = None

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


class _PolicyFile(_Strict):
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
    reminders: _Reminders = _Reminders()
    placeholders: list[str] = []


def _check_holidays(h: _Holidays, source: str) -> None:
    key = "calendar.holidays"
    if h.subdivision and not h.country:
        raise PolicyError(source, f"{key}.subdivision", "a subdivision needs a country")
    if not h.country:
        return
    import holidays

    try:
        holidays.country_holidays(h.country, years=2024)
    except (NotImplementedError, KeyError, ValueError):
        raise PolicyError(source, f"{key}.country", f"the holidays package does not know "
                          f"country {h.country!r} (ISO 3166 code, e.g. 'BE')") from None
    if h.subdivision:
        try:
            holidays.country_holidays(h.country, subdiv=h.subdivision, years=2024)
        except (NotImplementedError, KeyError, ValueError):
            raise PolicyError(source, f"{key}.subdivision", f"the holidays package does not "
                              f"know subdivision {h.subdivision!r} of {h.country}") from None


def _cross_check(spec: _PolicyFile, source: str) -> None:
    """Checks across sections, each reported at the key that is wrong."""
    if not spec.clocks:
        raise PolicyError(source, "clocks", "a policy needs at least one clock")
    for name, c in spec.clocks.items():
        missing = [p.value for p in Priority if p not in c.targets]
        if missing:
            raise PolicyError(source, f"clocks.{name}.targets",
                              f"no target for {', '.join(missing)}")
    clocks = ", ".join(spec.clocks)
    for name in spec.compliance.targets:
        if name not in spec.clocks:
            raise PolicyError(source, "compliance.targets",
                              f"{name!r} is not one of the clocks ({clocks})")
    for i, c in enumerate(spec.credits):
        if c.clock not in spec.clocks:
            raise PolicyError(source, f"credits[{i}].clock",
                              f"{c.clock!r} is not one of the clocks ({clocks})")
    for i, r in enumerate(spec.reminders.rules):
        for name in r.clocks:
            if name not in spec.clocks:
                raise PolicyError(source, f"reminders.rules[{i}].clocks",
                                  f"{name!r} is not one of the clocks ({clocks})")
    _check_holidays(spec.calendar.holidays, source)


def _misplaced_placeholders(raw: dict[str, Any], source: str) -> None:
    """The TOML pitfall: ``placeholders`` written after a ``[table]`` header lands inside it."""
    for table, value in raw.items():
        if isinstance(value, dict) and "placeholders" in value:
            raise PolicyError(source, f"{table}.placeholders",
                              "unknown key: `placeholders` belongs at the top of the file, "
                              "before the first [table] (TOML puts keys written after a table "
                              "header inside that table)")


@functools.cache
def builtin_policy_dir() -> Path:
    """Where the built-in policies are installed (fixed for the life of the process)."""
    return Path(str(resources.files("config") / "policies"))


def builtin_policies() -> list[str]:
    return sorted(p.stem for p in builtin_policy_dir().glob("*.toml"))


def resolve_policy_path(name_or_path: str | Path, search: tuple[Path, ...] = ()) -> Path:
    """A path as given, or ``NAME`` looked up in ``search`` then among the built-in policies."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.parent != Path("."):
        return p
    for d in (*search, builtin_policy_dir()):
        candidate = Path(d) / f"{name_or_path}.toml"
        if candidate.is_file():
            return candidate
    known = ", ".join(builtin_policies())
    raise PolicyError(str(name_or_path), "", f"no such policy (built-in: {known})")


_cache: dict[tuple[str, str], Policy] = {}
_by_stat: dict[str, tuple[tuple[int, int, int, int], Policy]] = {}
_cache_lock = threading.Lock()


def load_policy(name_or_path: str | Path, search: tuple[Path, ...] = ()) -> Policy:
    """A built-in policy by name (``panenco``), or a policy file by path.

    Cheap to call often (every ticket view does): the file is read again only when its stat
    signature changes. The signature includes ``st_ctime_ns``, which every write moves and no
    tool can set back, so an edit is seen even when the file's mtime was preserved. Parsed
    policies are cached by content. Raises PolicyError naming the file, the key and the reason
    when the file is not valid.
    """
    path = resolve_policy_path(name_or_path, search)
    try:
        st = path.stat()
    except OSError as e:
        raise PolicyError(str(path), "", f"cannot read: {e.strerror or e}") from None
    where = os.path.abspath(path)
    signature = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    with _cache_lock:
        seen = _by_stat.get(where)
    if seen is not None and seen[0] == signature:
        return seen[1]
    try:
        content = path.read_bytes()
    except OSError as e:
        raise PolicyError(str(path), "", f"cannot read: {e.strerror or e}") from None
    policy = _parse_cached(content, str(path), where)
    with _cache_lock:
        _by_stat[where] = (signature, policy)
    return policy


def _parse_cached(content: bytes, source: str, where: str) -> Policy:
    key = (where, hashlib.sha256(content).hexdigest())
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    policy = parse_policy(content, source)
    with _cache_lock:
        _cache[key] = policy
    return policy


def parse_policy(content: bytes, source: str) -> Policy:
    """Build a Policy from the bytes of a policy file; ``source`` names it in errors."""
    import tomllib

    try:
        raw = tomllib.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise PolicyError(source, "", f"not valid TOML: {e}") from None
    _misplaced_placeholders(raw, source)
    try:
        spec = _PolicyFile.model_validate(raw)
    except ValidationError as e:
        raise config_error(source, e, PolicyError, _PolicyFile) from None
    _cross_check(spec, source)
    try:
        calendar = spec.calendar.build()
    except ValueError as e:  # overlapping windows, or none at all
        raise PolicyError(source, "calendar.windows", str(e)) from None
    clocks = {
        name: ClockSpec(
            name=name, description=c.description,
            start=frozenset(c.start), stop=frozenset(c.stop), pause=frozenset(c.pause),
            resume=frozenset(c.resume), reopen=frozenset(c.reopen), targets=dict(c.targets),
        )
        for name, c in spec.clocks.items()
    }
    return Policy(
        name=spec.policy.name,
        title=spec.policy.title,
        document=spec.policy.document,
        version=hashlib.sha256(content).hexdigest()[:12],
        source=source,
        calendar=calendar,
        clocks=clocks,
        compliance=Compliance(spec.compliance.period, spec.compliance.anchor,
                              dict(spec.compliance.targets), spec.compliance.open_at_period_end),
        priority_set_by=spec.priorities.set_by,
        default_priority=spec.priorities.default,
        phone_followup=frozenset(spec.priorities.phone_followup),
        credits=tuple(CreditRule(c.clock, frozenset(c.priorities), c.share_of_invoice,
                                 c.free_breaches) for c in spec.credits),
        deadlines=dict(spec.deadlines),
        maintenance_notice=spec.maintenance.notice,
        availability_target=spec.availability.target,
        change_approval=spec.changes.approval,
        placeholders=tuple(spec.placeholders),
        reminders=spec.reminders.build(list(spec.clocks)),
    )


__all__ = ["builtin_policies", "load_policy", "parse_policy", "read_toml", "resolve_policy_path"]
