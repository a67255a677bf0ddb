"""What the phone desk needs from a telephony provider, and its value types."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from bot.phone.paging import OnCall


class TelephonyError(Exception):
    """A call or SMS could not be placed (the provider refused it or could not be reached)."""


class Telephony(Protocol):
    """Places calls and sends SMS. Blocking: run it off the event loop."""

    def page_call(self, to: str, text: str) -> str:
        """Call ``to``, read ``text`` and ask for a key; returns the CallSid."""
        ...

    def sms(self, to: str, text: str) -> str:
        """Send ``text``; returns the MessageSid."""
        ...


@dataclass(frozen=True)
class PhonePolicy:
    """How calls are handled (from the ``[twilio]`` and ``[oncall]`` settings)."""

    oncall: OnCall = field(default_factory=OnCall)
    link_window: timedelta = timedelta(minutes=30)
    followup_within: timedelta = timedelta(hours=1)
    mail_sender: str = "support@localhost"
    phone_number: str | None = None
    """The number clients are told to call (``mail.phone_number``)."""


@dataclass(frozen=True)
class CallAnswer:
    """What a caller hears: ``linked`` (the ticket's reference), ``voicemail`` (leave a
    message), ``taken``, ``already-taken``, ``not-taken``, ``recorded`` or ``unknown``."""

    kind: str
    text: str
    reference: str | None = None
