"""What a tracker item says about its ticket: title, description, due instant, labels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.model import EventKind
from bot.readable import when
from bot.views import TicketView

BOT_LABEL = "supportbot"
"""Every item the bot creates carries it (with the reference), to be found again."""


@dataclass(frozen=True)
class ItemText:
    """The item of one ticket, in the ticket's vocabulary."""

    reference: str
    title: str
    description: str
    priority: str
    state: str
    due: datetime | None
    """The earliest running clock's due instant (UTC); None when none runs."""
    labels: tuple[str, ...]


def item_text(view: TicketView, link: str | None = None) -> ItemText:
    """The item for ``view``'s ticket; ``link``: the ticket's page (the dashboard), if any."""
    t = view.ticket
    tz = view.policy.calendar.tz
    found = next((e for e in t.events if e.kind == EventKind.PRIORITY_SET
                  and e.actor == "classifier"), None)
    reasons = [str(r) for r in (found.data.get("reasons", []) if found else [])]
    lines = [f"Reference: {t.reference}",
             f"Client: {t.client_name or '(none)'}",
             f"Priority: {t.priority}",
             f"Reporter: {t.requester or '(unknown)'}",
             f"Channel: {t.channel.value}"]
    for name, c in sorted(view.clocks.items()):
        lines.append(f"{name.capitalize()} due: {when(c.due, tz) if c.due else c.status.value}")
    if reasons:
        lines += ["", "Classified because:", *(f"- {r}" for r in reasons)]
    if t.body.strip():
        lines += ["", t.body.strip()[:4000]]
    if link:
        lines += ["", f"In supportbot: {link}"]
    next_due = view.next_due()
    return ItemText(reference=t.reference, title=f"[{t.reference}] {t.subject}"[:250],
                    description="\n".join(lines), priority=t.priority.value,
                    state=t.status.value, due=next_due.due if next_due else None,
                    labels=(BOT_LABEL, t.reference))
