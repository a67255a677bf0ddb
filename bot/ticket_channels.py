"""The ticket aggregate's part that its channels write: mail sent and bounced, the phone's
paging and voicemail, the client's rating. Mixed into ``bot.ticket.Ticket``, whose
``_record`` it uses: each method still checks its rule and records its event on the ticket."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.errors import InvalidAction
from bot.model import Event, EventKind

PAGE_KINDS = frozenset({EventKind.PAGE_STARTED, EventKind.PAGE_ATTEMPT,
                        EventKind.PAGE_CALL_ENDED, EventKind.PAGE_EXHAUSTED})
"""What the pager records as it works through the on-call numbers (``page_taken`` apart)."""

RATING_SCORES = (1, 2, 3, 4, 5)
RATING_CHANGE_WINDOW = timedelta(days=7)


class ChannelEvents:
    """Methods of ``Ticket`` (only ever mixed into it)."""

    events: tuple[Event, ...]
    reference: str

    def _record(self, kind: EventKind, at: datetime, actor: str,
                data: dict[str, Any]) -> None:
        raise NotImplementedError  # Ticket's own

    def last(self, kind: EventKind) -> Event | None:
        raise NotImplementedError  # Ticket's own

    def auto_reply_received(self, *, now: datetime, data: Mapping[str, Any]) -> None:
        """A bounce or out-of-office about this ticket's mail."""
        self._record(EventKind.AUTO_REPLY_RECEIVED, now, "mail", dict(data))

    def mail_sent(self, *, purpose: str, to: Sequence[str], message_id: str,
                  now: datetime) -> None:
        """A mail to the client was queued in the outbox (it leaves from there)."""
        self._record(EventKind.MAIL_SENT, now, "mail", {
            "purpose": purpose, "to": list(to), "message_id": message_id})

    # -- the phone -------------------------------------------------------------------------

    def voicemail_recorded(self, *, actor: str, now: datetime, data: Mapping[str, Any]) -> None:
        self._record(EventKind.VOICEMAIL_RECORDED, now, actor, dict(data))

    def merge_in(self, other: ChannelEvents, *, now: datetime, reason: str) -> None:
        """``other`` reported the same incident first (a voicemail before the mail): its
        voicemails are recorded here too. ``other`` is closed by its own ``close``."""
        for e in other.events:
            if e.kind == EventKind.VOICEMAIL_RECORDED:
                self._record(EventKind.VOICEMAIL_RECORDED, now, e.actor, {
                    **e.data, "recorded_at": e.at.isoformat(), "from_ticket": other.reference})
        self._record(EventKind.MERGED, now, "phone", {"from_ticket": other.reference,
                                                      "reason": reason})

    def paging(self, kind: EventKind, *, now: datetime, data: Mapping[str, Any]) -> None:
        """What the pager did: one of :data:`PAGE_KINDS`."""
        if kind not in PAGE_KINDS:
            raise ValueError(f"{kind} is not a paging event")
        self._record(kind, now, "pager", dict(data))

    def page_taken(self, *, by: str, now: datetime, data: Mapping[str, Any]) -> None:
        """Someone on call pressed 1: paging stops."""
        self._record(EventKind.PAGE_TAKEN, now, by, dict(data))

    def followup_missing(self, *, due: datetime, reminded: str, now: datetime) -> None:
        """The P1's phone call is late: the client and triage are told."""
        self._record(EventKind.PHONE_FOLLOWUP_MISSING, now, "pager", {
            "due": due.isoformat(), "reminded": reminded})

    # -- the client's rating --------------------------------------------------------------

    @property
    def rating(self) -> Event | None:
        """The client's answer to "how did we do?" (``data["score"]`` 1-5), if any."""
        return self.last(EventKind.RATED)

    def rate(self, score: int, *, actor: str, now: datetime, channel: str,
             change_within: timedelta = RATING_CHANGE_WINDOW) -> bool:
        """The client rates the resolution: one answer per ticket, which they may change
        within ``change_within`` of their first. False: the same score again (nothing to
        record)."""
        if score not in RATING_SCORES:
            raise InvalidAction(f"a rating is 1 to 5 (got {score})")
        if self.last(EventKind.RESOLVED) is None:
            raise InvalidAction(f"{self.reference} was never resolved: nothing to rate yet")
        first = next((e for e in self.events if e.kind == EventKind.RATED), None)
        if first is not None and now - first.at > change_within:
            raise InvalidAction(f"{self.reference} was rated {first.at:%Y-%m-%d}; a rating "
                                f"can be changed for {change_within.days} days only")
        current = self.rating
        if current is not None and current.data.get("score") == score:
            return False
        data: dict[str, Any] = {"score": score, "channel": channel}
        if current is not None:
            data["previous"] = current.data.get("score")
        self._record(EventKind.RATED, now, actor, data)
        return True
