"""``extends``: a policy file that takes another's content and changes only what it says, and
where each value of the result came from (``sla explain`` shows it).

The child's tables are merged into the parent's key by key; a value (or a list) replaces the
parent's, except the calendar's closed days and named holidays, which add to the parent's (a
client's own closures on its provider's calendar). ``origins`` maps each key of the result to
the file that set it: ``calendar.windows``, ``clocks.response.targets``, and one key per closed
day (``calendar.closed:2026-12-24``) and named holiday (``calendar.holidays.days:King's Day``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.errors import PolicyError

if TYPE_CHECKING:
    from bot.sla.policy import Policy

KEY = "extends"
ADDED = {("calendar", "closed"): "date", ("calendar", "holidays", "days"): "name"}
"""Lists a child adds to, with the field that names each item in ``origins``."""
MAX_DEPTH = 8


def merged(raw: dict[str, Any], source: str,
           read: Callable[[str], tuple[dict[str, Any], str]],
           depth: int = 0) -> tuple[dict[str, Any], dict[str, str], tuple[str, ...]]:
    """``raw`` with what it extends merged in: (content, origins, the sources in order, the
    file's own last). ``read(name)`` gives a parent's parsed content and its source."""
    origins: dict[str, str] = {}
    parent_name = raw.get(KEY)
    if parent_name is None:
        _mark(raw, (), source, origins)
        return raw, origins, (source,)
    if not isinstance(parent_name, str) or not parent_name.strip():
        raise PolicyError(source, KEY, f"expected the name or path of a policy (got "
                          f"{parent_name!r})")
    if depth >= MAX_DEPTH:
        raise PolicyError(source, KEY, f"more than {MAX_DEPTH} levels of extends (a loop?)")
    parent_raw, parent_source = read(parent_name)
    if Path(parent_source).resolve() == Path(source).resolve():
        raise PolicyError(source, KEY, "a policy cannot extend itself")
    base, origins, chain = merged(parent_raw, parent_source, read, depth + 1)
    own = {k: v for k, v in raw.items() if k != KEY}
    _merge(base, own, (), source, origins)
    return base, origins, (*chain, source)


def _merge(base: dict[str, Any], own: dict[str, Any], path: tuple[str, ...], source: str,
           origins: dict[str, str]) -> None:
    for k, v in own.items():
        here = (*path, k)
        if here in ADDED and isinstance(v, list) and isinstance(base.get(k), list):
            base[k] = [*base[k], *v]
            _mark_items(v, here, source, origins)
        elif isinstance(v, dict) and isinstance(base.get(k), dict):
            _merge(base[k], v, here, source, origins)
        else:
            base[k] = v
            for key in [o for o in origins if o == ".".join(here) or
                        o.startswith(".".join(here) + ".") or
                        o.startswith(".".join(here) + ":")]:
                del origins[key]
            _mark(v, here, source, origins)


def _mark(value: Any, path: tuple[str, ...], source: str, origins: dict[str, str]) -> None:
    """Record ``source`` for ``value`` at ``path`` and for every key under it."""
    if isinstance(value, dict):
        for k, v in value.items():
            _mark(v, (*path, k), source, origins)
        return
    if path in ADDED and isinstance(value, list):
        _mark_items(value, path, source, origins)
        return
    if path:
        origins[".".join(path)] = source


def _mark_items(items: list[Any], path: tuple[str, ...], source: str,
                origins: dict[str, str]) -> None:
    field = ADDED[path]
    for item in items:
        if isinstance(item, dict) and field in item:
            origins[f"{'.'.join(path)}:{item[field]}"] = source


def origin(policy: Policy, key: str) -> str:
    """The file(s) that set ``key`` or the keys under it (``clocks.response.targets``: one
    file, or two when a child changed some priorities' targets only)."""
    found = {v for k, v in policy.origins.items() if k == key or k.startswith(key + ".")}
    return ", ".join(sorted(found)) or "?"


def closed_origin(policy: Policy, d: date) -> str:
    """Which file closed local date ``d`` (wholly or in part): a closed day's, a named
    holiday's, or the one that named the country whose public holidays apply."""
    o = policy.origins
    if f"calendar.closed:{d.isoformat()}" in o:
        return o[f"calendar.closed:{d.isoformat()}"]
    name = policy.calendar.closed_reason(d)
    return o.get(f"calendar.holidays.days:{name}") or o.get("calendar.holidays.country", "?")


def explain_origins(policy: Policy, clock: str, start: datetime, due: datetime) -> list[str]:
    """Where the values behind a deadline came from, one line each: the clock's targets, the
    calendar's zone and windows, and every day closed between ``start`` and ``due``."""
    cal = policy.calendar
    lines = [f"target ({clock}): {origin(policy, f'clocks.{clock}.targets')}",
             f"time zone: {origin(policy, 'calendar.timezone')}",
             f"windows: {origin(policy, 'calendar.windows')}"]
    d, last = start.astimezone(cal.tz).date(), due.astimezone(cal.tz).date()
    while d <= last:
        if cal.windows[d.weekday()] and (cal.closed_reason(d) or d in cal.closed_windows):
            what = cal.closed_reason(d) or ", ".join(n for _, n in cal.closed_windows[d])
            lines.append(f"closed {d.isoformat()} ({what}): {closed_origin(policy, d)}")
        d += timedelta(days=1)
    return lines
