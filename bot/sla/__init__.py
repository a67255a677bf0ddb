"""The SLA engine: calendars, working time, clocks' targets and deadlines. Pure: no I/O but
reading policy files, no clock of its own.

    from bot.sla import load_policy
    policy = load_policy("panenco")
    policy.calendar.working_time(a, b)
    policy.calendar.add(start, timedelta(hours=8))
    policy.deadline("P1", "response", start)
"""

from bot.sla.calendar import Calendar, Explanation
from bot.sla.closed_days import ClosedDays, NamedDay
from bot.sla.durations import WorkingDays, format_duration, parse_duration
from bot.sla.loader import builtin_policies, load_policy, parse_policy
from bot.sla.policy import ClockSpec, Compliance, CreditRule, Policy

__all__ = [
    "Calendar", "ClockSpec", "ClosedDays", "Compliance", "CreditRule", "Explanation", "NamedDay",
    "Policy", "WorkingDays", "builtin_policies", "format_duration", "load_policy", "parse_duration",
    "parse_policy",
]
