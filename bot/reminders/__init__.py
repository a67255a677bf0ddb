"""Deadline reminders, planned from a ticket's clocks and its policy (pure: ``now`` is an
argument). The adapters' engine decides *when* to call the planner and delivers what it says."""

from bot.reminders.plan import (
    LATE_AFTER,
    NOTHING,
    PLAN,
    Decision,
    Reminder,
    decide,
    earliest,
    next_opening,
    plan_ticket,
    upcoming,
)
from bot.reminders.replan import ReplanListener, affects_clocks
from bot.reminders.text import build_alert

__all__ = ["LATE_AFTER", "NOTHING", "PLAN", "Decision", "Reminder", "ReplanListener",
           "affects_clocks", "build_alert", "decide", "earliest", "next_opening", "plan_ticket",
           "upcoming"]
