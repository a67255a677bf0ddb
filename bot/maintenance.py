"""Maintenance windows: announced to every affected client with the policy's notice, and the
clients told again when a window starts and when it ends.

An announcement is refused when it gives a client less notice than that client's policy asks
(``[maintenance] notice``: ``72h`` ahead, or ``3wd`` on the policy calendar), unless it is a
hotfix, and then the notice says so. Every mail has a deterministic Message-ID and every chat
post a unique key, and a window is keyed by its content: announcing the same window again, or
running the start/end sweep twice, queues nothing twice.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from bot import readable
from bot.clock import Clock
from bot.errors import InvalidAction, NotFound
from bot.mail import compose
from bot.maintenance_window import MaintenanceWindow
from bot.model import Client, OutboundMail
from bot.policies import PolicyBook
from bot.ports import MaintenanceUnitOfWork
from bot.sla.durations import WorkingDays
from bot.sla.policy import Policy

PHASES = ("announced", "started", "ended")
LATE_AFTER = timedelta(seconds=60)
"""A start or end notice told more than this after its instant (the bot was down) says so."""
_URL = re.compile(r"^https?://[^\s/]+\S*$")


def window_key(start: datetime, end: datetime, summary: str, clients: Sequence[str],
               hotfix: bool, release_notes: str) -> str:
    """The same announcement gives the same key (and so the same Message-IDs)."""
    text = "|".join([start.isoformat(), end.isoformat(), summary, ",".join(sorted(clients)),
                     str(hotfix), release_notes])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def earliest_start(policy: Policy, now: datetime) -> datetime | None:
    """The earliest start the policy's notice allows for an announcement made at ``now``;
    None when the policy sets no notice. Hours are plain hours ahead; working days follow the
    policy calendar (the close of the n-th working day after today)."""
    notice = policy.maintenance_notice
    if notice is None:
        return None
    if isinstance(notice, WorkingDays):
        return policy.calendar.add_working_days(now, notice)
    return now + notice


def notice_text(policy: Policy) -> str:
    n = policy.maintenance_notice
    if n is None:
        return "no minimum notice"
    return f"{n.days} working days" if isinstance(n, WorkingDays) else readable.duration(n)


def _local(dt: datetime, policy: Policy) -> str:
    return readable.when(dt, policy.calendar.tz)


def _impact(w: MaintenanceWindow, policy: Policy) -> str:
    worked = policy.calendar.working_time(w.start, w.end)
    if worked <= timedelta(0):
        return "It falls outside the support hours of your agreement."
    return (f"It overlaps the support hours of your agreement by {readable.duration(worked)} "
            "of working time.")


def instant(w: MaintenanceWindow, phase: str) -> datetime | None:
    """When the notice of ``phase`` is due: the window's start or end (None: announced)."""
    return {"started": w.start, "ended": w.end}.get(phase)


def is_late(w: MaintenanceWindow, phase: str, now: datetime) -> bool:
    due = instant(w, phase)
    return due is not None and now - due > LATE_AFTER


def message(w: MaintenanceWindow, phase: str, policy: Policy, announced: datetime, *,
            late: bool = False) -> str:
    """What a client is told when a window is announced, starts or ends; ``late``: the notice
    goes out well after its instant, and says so."""
    span = f"from {_local(w.start, policy)} until {_local(w.end, policy)}"
    if phase == "announced":
        lines = [f"We will carry out {'a hotfix' if w.hotfix else 'planned maintenance'} {span}.",
                 f"What: {w.summary}", _impact(w, policy)]
        first = earliest_start(policy, announced)
        if w.hotfix and first is not None and w.start < first:
            lines.append(f"This is a hotfix: it is announced with less than the "
                         f"{notice_text(policy)} notice agreed for maintenance.")
        elif w.hotfix:
            lines.append("This is a hotfix.")
    elif phase == "started":
        lines = [f"The maintenance announced {span} has started.", f"What: {w.summary}"]
    else:
        lines = [f"The maintenance {span} has ended.", f"What: {w.summary}"]
        if w.release_notes:
            lines.append(f"Release notes: {w.release_notes}")
    if w.release_notes and phase != "ended":
        lines.append(f"Release notes will be at: {w.release_notes}")
    due = instant(w, phase)
    if late and due is not None:
        lines.append(f"This notice comes late: it was due {_local(due, policy)}, when the "
                     f"maintenance {phase}.")
    return "\n".join(lines)


def subject(w: MaintenanceWindow, phase: str, policy: Policy, *, late: bool = False) -> str:
    """The window's start, or for the end notice its end, in the policy's zone."""
    what = "Hotfix" if w.hotfix else "Maintenance"
    at = w.end if phase == "ended" else w.start
    when = readable.when(at, policy.calendar.tz)[4:]  # without the weekday
    head = {"announced": "Hotfix" if w.hotfix else "Planned maintenance",
            "started": f"{what} started", "ended": f"{what} ended"}[phase]
    marker = " (late notice)" if late and phase != "announced" else ""
    return compose.one_line(f"{head} {when}{marker}: {w.summary}", 200)


def notice_mail(w: MaintenanceWindow, phase: str, client: Client, policy: Policy, *,
                sender: str, recipients: tuple[str, ...], at: datetime,
                late: bool = False) -> OutboundMail:
    msgid = compose.message_id("maintenance", f"{w.key}.{phase}.{client.name}", sender)
    subj = subject(w, phase, policy, late=late)
    m = compose.base_message(sender, ", ".join(recipients), subj, msgid, at=at,
                             auto="auto-generated")
    m.set_content(message(w, phase, policy, w.announced_at, late=late) + "\n")
    return OutboundMail("maintenance", sender, recipients, msgid, subj, m.as_bytes())


class ChatPost(Protocol):
    """Queues a post to a client's chat channel inside ``uow``'s transaction (no network I/O);
    False when the client has no channel or the key was queued already."""

    def __call__(self, uow: MaintenanceUnitOfWork, client: Client, key: str, text: str,
                 at: datetime) -> bool: ...


@dataclass(frozen=True)
class Told:
    """Who was told about a window in one step, and who could not be."""

    window: MaintenanceWindow
    created: bool
    mailed: tuple[str, ...] = ()
    posted: tuple[str, ...] = ()
    unreachable: tuple[str, ...] = ()
    phase: str = "announced"
    late: bool = False
    """Told more than ``LATE_AFTER`` after its instant (and the notice says so)."""


class Maintenance:
    """Announce windows, list them, and tell clients when they start and end."""

    def __init__(self, uow: Callable[[], MaintenanceUnitOfWork], clock: Clock,
                 policies: PolicyBook, sender: str, post: ChatPost | None = None) -> None:
        self._uow = uow
        self.clock = clock
        self.policies = policies
        self.sender = sender
        self.post = post

    def announce(self, *, start: datetime, end: datetime, summary: str,
                 clients: Sequence[str] = (), hotfix: bool = False, release_notes: str = "",
                 actor: str) -> Told:
        """Record the window and queue its notice to every affected client (all when
        ``clients`` is empty). Refused when a client's policy asks more notice, unless
        ``hotfix``. The same announcement again changes nothing."""
        now = self.clock.now()
        summary = compose.one_line(summary, 300)
        if not summary:
            raise InvalidAction("a maintenance announcement needs a summary")
        if start.tzinfo is None or end.tzinfo is None:
            raise InvalidAction("maintenance start and end need a time zone")
        if end <= start:
            raise InvalidAction("maintenance must end after it starts")
        if end <= now:
            raise InvalidAction("that maintenance window is over already")
        if release_notes and not _URL.match(release_notes):
            raise InvalidAction(f"release notes {release_notes!r} is not an http(s) URL")
        with self._uow() as uow:
            targets = self._clients(uow, clients)
            key = window_key(start, end, summary, [c.name for c in targets], hotfix,
                             release_notes)
            existing = uow.maintenance.get(key)
            if existing is not None:
                return Told(existing, created=False)
            if start < now and not hotfix:
                raise InvalidAction(f"maintenance starting {start.isoformat()} has started "
                                    "already; announce it with --hotfix")
            for c in targets:
                self._check_notice(c, start, now, hotfix)
            window = uow.maintenance.add(MaintenanceWindow(
                key, start, end, summary, tuple(c.name for c in targets), now, actor,
                hotfix, release_notes))
            told = self._tell(uow, window, "announced", targets, now)
            uow.commit()
        return replace(told, created=True)

    def _check_notice(self, client: Client, start: datetime, now: datetime,
                      hotfix: bool) -> None:
        policy = self.policies.get(client.policy)
        first = earliest_start(policy, now)
        if first is None or start >= first or hotfix:
            return
        minute = timedelta(minutes=1)  # down: never say "72h ahead" of a 72h notice missed
        ahead = readable.duration(max(timedelta(0), start - now) // minute * minute)
        raise InvalidAction(
            f"maintenance starting {_local(start, policy)} is {ahead} ahead: client "
            f"{client.name} (policy {policy.name}) must be told {notice_text(policy)} ahead, "
            f"so not before {_local(first, policy)}; use --hotfix for an urgent fix")

    @staticmethod
    def _clients(uow: MaintenanceUnitOfWork, names: Sequence[str]) -> list[Client]:
        if not names:
            found = sorted(uow.clients.list(), key=lambda c: c.name)
            if not found:
                raise InvalidAction("there are no clients to tell (settings: clients)")
            return found
        out: list[Client] = []
        for n in dict.fromkeys(names):
            c = uow.clients.get(n)
            if c is None:
                raise NotFound(f"no client named {n!r}")
            out.append(c)
        return sorted(out, key=lambda c: c.name)

    def _tell(self, uow: MaintenanceUnitOfWork, w: MaintenanceWindow, phase: str,
              clients: Sequence[Client], now: datetime) -> Told:
        mailed: list[str] = []
        posted: list[str] = []
        unreachable: list[str] = []
        late = is_late(w, phase, now)
        for c in clients:
            policy = self.policies.get(c.policy)
            recipients = tuple(a for a in (compose.safe_address(e) for e in c.emails) if a)
            reached = False
            if recipients:
                uow.outbox.add(notice_mail(w, phase, c, policy, sender=self.sender,
                                           recipients=recipients, at=now, late=late), at=now)
                mailed.append(c.name)
                reached = True
            if self.post is not None:
                text = (f"*{subject(w, phase, policy, late=late)}*\n"
                        f"{message(w, phase, policy, w.announced_at, late=late)}")
                if self.post(uow, c, f"maintenance:{w.key}:{phase}:{c.name}", text, now):
                    posted.append(c.name)
                    reached = True
            if not reached:
                unreachable.append(c.name)
        return Told(w, False, tuple(mailed), tuple(posted), tuple(unreachable), phase, late)

    def windows(self, *, include_ended: bool = False) -> list[MaintenanceWindow]:
        """Windows by start; those that ended only with ``include_ended``."""
        now = self.clock.now()
        with self._uow() as uow:
            found = uow.maintenance.list()
        return [w for w in found if include_ended or w.end > now]

    def next_notice_at(self) -> datetime | None:
        """The next instant a start or end notice is due (to wake ``tell_due`` then)."""
        now = self.clock.now()
        with self._uow() as uow:
            found = uow.maintenance.list()
        ahead = [w.start if w.started_told_at is None and w.start > now else w.end
                 for w in found if w.ended_told_at is None and w.end > now]
        return min(ahead, default=None)

    def tell_due(self) -> list[Told]:
        """Tell clients of windows that started or ended since the last step (run at each
        ``next_notice_at`` and periodically). A start missed while the bot was down is told
        late, marked so, if the window is still on; a window missed throughout gets only its
        end notice (late). Each notice is recorded with the window in one transaction."""
        now = self.clock.now()
        done: list[Told] = []
        with self._uow() as uow:
            for w in uow.maintenance.due(now):
                phase = "ended" if now >= w.end else "started"
                clients = [c for c in (uow.clients.get(n) for n in w.clients) if c is not None]
                done.append(self._tell(uow, w, phase, clients, now))
                uow.maintenance.mark_told(w.key, phase, now)
            uow.commit()
        return done


__all__ = ["LATE_AFTER", "PHASES", "ChatPost", "Maintenance", "MaintenanceWindow", "Told",
           "earliest_start", "message", "notice_mail", "window_key"]
