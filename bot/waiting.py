"""When a ticket waiting for the client's answer nudges them, and when it resolves by itself.

The policy's ``[waiting] after`` (``6wd``: the close of the sixth working day after the wait
began, or working time such as ``16h``) is counted on the policy's calendar from the instant
the ticket began to wait. The nudge is due at half of that working time, the resolution at its
end; both only if the policy asks for them. Nothing here reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bot.model import Event
from bot.readable import when
from bot.sla.policy import Policy
from bot.ticket import Ticket

NUDGE = "nudge"
RESOLVE = "resolve"


@dataclass(frozen=True)
class WaitPlan:
    """The instants of one wait (aware UTC); None for a step the policy does not take."""

    since: datetime
    nudge_at: datetime | None
    resolve_at: datetime | None


def wait_plan(policy: Policy, since: datetime) -> WaitPlan:
    """The nudge and resolution instants of a wait that began at ``since``."""
    rule, cal = policy.waiting, policy.calendar
    if rule.after is None:
        return WaitPlan(since, None, None)
    end = cal.due(since, rule.after)
    half = cal.add(since, cal.working_time(since, end) / 2)
    return WaitPlan(since, half.astimezone(UTC) if rule.nudge else None,
                    end.astimezone(UTC) if rule.resolve else None)


def ticket_wait_plan(policy: Policy, ticket: Ticket) -> WaitPlan | None:
    """The plan of the ticket's current wait; None when it is not waiting for the client."""
    since = ticket.waiting_since
    return wait_plan(policy, since.at) if since is not None else None


def due_step(policy: Policy, ticket: Ticket, now: datetime) -> str | None:
    """What the waiting ticket needs at ``now``: ``RESOLVE`` once the wait is over (even if
    the nudge never went out: a nudge after that would only confuse), ``NUDGE`` at half-time
    if not sent yet, else None."""
    plan = ticket_wait_plan(policy, ticket)
    if plan is None:
        return None
    if plan.resolve_at is not None and now >= plan.resolve_at:
        return RESOLVE
    if plan.nudge_at is not None and now >= plan.nudge_at and not ticket.nudged:
        return NUDGE
    return None


def _instant(text: object) -> datetime | None:
    return datetime.fromisoformat(str(text)) if text else None


def nudge_text(e: Event, policy: Policy, reference: str, reply: str = "Reply") -> str:
    """What the client reads when nudged (``e``: the ``client_nudged`` event); ``reply``: how
    they answer where they read it."""
    tz = policy.calendar.tz
    lines = [f"We are still waiting for your answer about {reference}: we asked you on "
             f"{when(_instant(e.data.get('waiting_since')), tz)}.",
             f"{reply} and we carry on at once."]
    resolves = _instant(e.data.get("resolves_at"))
    if resolves is not None:
        lines.append(f"Without an answer by {when(resolves, tz)} we will consider the ticket "
                     "resolved (you can still reply afterwards to reopen it).")
    return "\n".join(lines)


def unanswered_text(e: Event, policy: Policy, reference: str) -> str:
    """The first line of the resolution notice of a ticket resolved for want of an answer."""
    return (f"We asked you a question about {reference} on "
            f"{when(_instant(e.data.get('waiting_since')), policy.calendar.tz)} and have had "
            "no answer, so we consider it resolved.")
