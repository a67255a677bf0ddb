"""The ticket actions of the dashboard's buttons: each is the same ``Helpdesk`` call the
command line and Slack make, with the signed-in staff member as the actor."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bot.errors import InvalidAction
from bot.priority import Priority
from bot.services import Helpdesk
from bot.views import TicketView

Form = Mapping[str, str]
Action = Callable[[Helpdesk, str, str, str, Form], TicketView]
"""(helpdesk, reference, actor, staff name, form) -> the ticket after the action."""


def _needed(form: Form, key: str, what: str) -> str:
    value = form.get(key, "").strip()
    if not value:
        raise InvalidAction(f"{what} is needed")
    return value


def _hours(form: Form) -> float:
    text = _needed(form, "hours", "the hours spent")
    try:
        hours = float(text.replace(",", "."))
    except ValueError:
        raise InvalidAction(f"hours {text!r} is not a number") from None
    if not 0 < hours <= 24:
        raise InvalidAction("hours: more than 0 and at most 24 at a time")
    return hours


def _priority(form: Form) -> Priority:
    try:
        return Priority.parse(_needed(form, "priority", "a priority"))
    except ValueError as e:
        raise InvalidAction(str(e)) from None


ACTIONS: dict[str, tuple[str, Action]] = {
    "take": ("taken", lambda h, ref, actor, me, f: h.assign(ref, me, actor=actor)),
    "assign": ("assigned", lambda h, ref, actor, me, f: h.assign(
        ref, _needed(f, "assignee", "a staff member"), actor=actor)),
    "priority": ("priority set", lambda h, ref, actor, me, f: h.set_priority(
        ref, _priority(f), actor=actor, reason=_needed(f, "reason", "a reason"))),
    "reply": ("reply sent to the client", lambda h, ref, actor, me, f: h.respond(
        ref, actor=actor, message=_needed(f, "message", "the text of the reply"))),
    "respond": ("response recorded", lambda h, ref, actor, me, f: h.respond(
        ref, actor=actor, message=f.get("message", "").strip())),
    "confirm-cause": ("cause confirmed", lambda h, ref, actor, me, f: h.confirm_cause(
        ref, actor=actor, note=f.get("note", "").strip())),
    "pause": ("paused", lambda h, ref, actor, me, f: h.pause(
        ref, actor=actor, reason=_needed(f, "reason", "a reason"))),
    "resume": ("resumed", lambda h, ref, actor, me, f: h.resume(
        ref, actor=actor, note=f.get("note", "").strip())),
    "resolve": ("resolved", lambda h, ref, actor, me, f: h.resolve(
        ref, actor=actor, note=f.get("note", "").strip())),
    "reopen": ("reopened", lambda h, ref, actor, me, f: h.reopen(
        ref, actor=actor, reason=_needed(f, "reason", "a reason"))),
    "log-time": ("time logged", lambda h, ref, actor, me, f: h.log_time(
        ref, _hours(f), actor=actor, note=f.get("note", "").strip())),
    "note": ("note added", lambda h, ref, actor, me, f: h.note(
        ref, _needed(f, "text", "the note"), actor=actor)),
}
"""Action name (the last part of its POST path) -> (what the page says after, the call)."""
