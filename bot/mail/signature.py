"""Who signs a staff reply in front of the client.

The actor recorded for the audit trail is an internal id (``cli:root``, ``Alice (slack:U0…)``,
``alice``); the client reads the staff member's name when the actor is one of the staff
directory, and only the team's name otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.model import Staff

_SLACK = re.compile(r"^(?P<name>.*?)\s*\(slack:(?P<user>[A-Z0-9]+)\)$")


def signer_name(actor: str, staff: Iterable[Staff]) -> str | None:
    """The directory name of the staff member ``actor`` stands for, or None.

    Matches a Slack actor by its user id, else the actor (without a ``cli:`` prefix) by the
    staff member's name, their mail address or its local part, ignoring case."""
    people = list(staff)
    slack = _SLACK.match(actor.strip())
    if slack:
        user = slack.group("user")
        return next((s.name for s in people if s.slack_user == user), None)
    who = actor.strip().removeprefix("cli:").casefold()
    if not who:
        return None
    for s in people:
        mail = (s.email or "").casefold()
        if who in (s.name.casefold(), mail, mail.partition("@")[0] if mail else None):
            return s.name
    return None
