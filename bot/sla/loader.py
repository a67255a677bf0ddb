"""Loading and validating policy files (``config/policies/*.toml``).

The file format is described in ``config/policies/README.md``. Every mistake is reported as a
PolicyError naming the file, the key and what was expected.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.errors import PolicyError
from bot.model import EventKind
from bot.priority import Priority
from bot.schema import config_error
from bot.sla.extends import KEY, merged
from bot.sla.policy import ClockSpec, Compliance, CreditRule, Policy, ReminderRule, WaitingRule
from bot.sla.policy_file import Holidays, PolicyFile

CHANGE_CLOCK = "change_response"
"""The answer clock of a change request (``bot.change_requests.CLOCK``), when the policy sets a
``change_request_response`` deadline: it has reminder rules like the policy's own clocks."""


def _reminded_clocks(spec: PolicyFile) -> list[str]:
    extra = [CHANGE_CLOCK] if "change_request_response" in spec.deadlines else []
    return list(spec.clocks) + [c for c in extra if c not in spec.clocks]


def _check_holidays(h: Holidays, source: str) -> None:
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


def _cross_check(spec: PolicyFile, source: str) -> None:
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
        if spec.clocks[c.clock].repeats:
            raise PolicyError(source, f"credits[{i}].clock",
                              f"{c.clock!r} repeats: credits count a ticket's breach once, so "
                              "they name a clock that runs once per ticket")
    reminded = _reminded_clocks(spec)
    for i, r in enumerate(spec.reminders.rules):
        for name in r.clocks:
            if name not in reminded:
                raise PolicyError(source, f"reminders.rules[{i}].clocks",
                                  f"{name!r} is not one of the clocks ({', '.join(reminded)})")
    _check_holidays(spec.calendar.holidays, source)
    for name in spec.waiting.pauses or ():
        if name not in spec.clocks:
            raise PolicyError(source, "waiting.pauses",
                              f"{name!r} is not one of the clocks ({clocks})")


def _reminders(spec: PolicyFile, source: str) -> dict[tuple[str, Priority], ReminderRule]:
    """The reminder rules per (clock, priority); a ladder step naming no threshold of its
    rule is a mistake, reported at the key that says it."""
    rules = spec.reminders.build(_reminded_clocks(spec))
    for (clock, p), rule in rules.items():
        known = rule.labels(timedelta.max)
        for label, _ in rule.ladder:
            if label not in known:
                raise PolicyError(source, "reminders.ladder" if spec.reminders.ladder and
                                  label in spec.reminders.ladder else "reminders.rules",
                                  f"{label!r} is not a threshold of the {clock} reminders at "
                                  f"{p} (they are: {', '.join(known) or 'none'})")
    return rules


def _waiting_rule(spec: PolicyFile) -> WaitingRule:
    w = spec.waiting
    pauses = w.pauses if w.pauses is not None else \
        [c for c in ("resolution",) if c in spec.clocks]
    return WaitingRule(tuple(pauses), w.after, w.nudge and w.after is not None,
                       w.resolve and w.after is not None)


def _clock(name: str, c: Any, waiting: WaitingRule) -> ClockSpec:
    """A clock as the file gives it; one the waiting state pauses also pauses while the ticket
    waits for the client and runs again when that ends."""
    pause, resume = set(c.pause), set(c.resume)
    if name in waiting.pauses:
        pause.add(EventKind.WAITING_FOR_CLIENT)
        resume.add(EventKind.WAITING_ENDED)
    return ClockSpec(name=name, description=c.description, start=frozenset(c.start),
                     stop=frozenset(c.stop), pause=frozenset(pause), resume=frozenset(resume),
                     reopen=frozenset(c.reopen), targets=dict(c.targets), repeats=c.repeats)


def _misplaced_placeholders(raw: dict[str, Any], source: str) -> None:
    """The TOML pitfall: ``placeholders`` written after a ``[table]`` header lands inside it."""
    for table, value in raw.items():
        for key in ("placeholders", "extends"):
            if isinstance(value, dict) and key in value:
                raise PolicyError(source, f"{table}.{key}",
                                  f"unknown key: `{key}` belongs at the top of the file, "
                                  "before the first [table] (TOML puts keys written after a "
                                  "table header inside that table)")


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
    where = os.path.abspath(path)
    with _cache_lock:
        seen = _by_stat.get(where)
    if seen is not None and seen[0] == _signature(where, seen[1].chain):
        return seen[1]
    try:
        content = path.read_bytes()
    except OSError as e:
        raise PolicyError(str(path), "", f"cannot read: {e.strerror or e}") from None
    if b"extends" in content:  # its parents' files count too: parsed here, not by content
        policy = parse_policy(content, str(path), search)
    else:
        policy = _parse_cached(content, str(path), where)
    with _cache_lock:
        _by_stat[where] = (_signature(where, policy.chain), policy)
    return policy


def _signature(where: str, chain: tuple[str, ...]) -> tuple[tuple[int, ...], ...]:
    """The stat signatures of a policy's file and those it extends (any edit moves one)."""
    out = []
    for p in (*chain[:-1], where) if chain else (where,):
        try:
            st = os.stat(p)
        except OSError as e:
            raise PolicyError(p, "", f"cannot read: {e.strerror or e}") from None
        out.append((st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
    return tuple(out)


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


def _read_toml(content: bytes, source: str) -> dict[str, Any]:
    import tomllib

    try:
        raw = tomllib.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise PolicyError(source, "", f"not valid TOML: {e}") from None
    _misplaced_placeholders(raw, source)
    return raw


def parse_policy(content: bytes, source: str, search: tuple[Path, ...] = ()) -> Policy:
    """Build a Policy from the bytes of a policy file; ``source`` names it in errors. A file
    that ``extends`` another finds it by name in ``search``, its own folder, then the built-in
    policies (or by path)."""
    raw = _read_toml(content, source)
    contents = [content]

    def read(name: str) -> tuple[dict[str, Any], str]:
        path = resolve_policy_path(name, (*search, Path(source).parent))
        try:
            data = path.read_bytes()
        except OSError as e:
            raise PolicyError(source, KEY, f"cannot read {path}: {e.strerror or e}") from None
        contents.insert(0, data)
        return _read_toml(data, str(path)), str(path)

    raw, origins, chain = merged(raw, source, read)
    if len(chain) > 1 and origins.get("policy.name") != source:
        raise PolicyError(source, "policy.name", "a policy that extends another needs a "
                          "[policy] name of its own (its tickets are filed under it)")
    try:
        spec = PolicyFile.model_validate(raw)
    except ValidationError as e:
        raise config_error(source, e, PolicyError, PolicyFile) from None
    _cross_check(spec, source)
    try:
        calendar = spec.calendar.build()
    except ValueError as e:  # overlapping windows, or none at all
        raise PolicyError(source, "calendar.windows", str(e)) from None
    waiting = _waiting_rule(spec)
    clocks = {name: _clock(name, c, waiting) for name, c in spec.clocks.items()}
    return Policy(
        name=spec.policy.name,
        title=spec.policy.title,
        document=spec.policy.document,
        version=hashlib.sha256(b"\0".join(contents)).hexdigest()[:12] if len(chain) > 1
        else hashlib.sha256(content).hexdigest()[:12],
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
        slack_group_window=spec.intake.slack_group_window,
        placeholders=tuple(spec.placeholders),
        reminders=_reminders(spec, source),
        waiting=waiting,
        origins=origins,
        chain=chain,
    )


__all__ = ["builtin_policies", "load_policy", "parse_policy", "resolve_policy_path"]
