"""Call and SMS status as a monotonic state machine per CallSid / MessageSid.

Status callbacks can arrive late, twice or out of order; a status only applies when it moves
the call (or message) forward, so ``ringing`` after ``completed``, or ``completed`` twice,
changes nothing. A final status is never replaced.
"""

from __future__ import annotations

CALL_RANK = {"queued": 0, "initiated": 1, "ringing": 2, "in-progress": 3,
             "completed": 4, "busy": 4, "no-answer": 4, "failed": 4, "canceled": 4}
SMS_RANK = {"accepted": 0, "scheduled": 0, "queued": 1, "sending": 2, "sent": 3,
            "delivered": 4, "undelivered": 4, "failed": 4, "canceled": 4, "read": 5}
CALL_FINAL = frozenset(s for s, r in CALL_RANK.items() if r == 4)
SMS_FINAL = frozenset({"delivered", "undelivered", "failed", "canceled", "read"})
UNANSWERED = frozenset({"busy", "no-answer", "failed", "canceled"})


def _ranks(kind: str) -> dict[str, int]:
    if kind == "call":
        return CALL_RANK
    if kind == "sms":
        return SMS_RANK
    raise ValueError(f"unknown kind {kind!r} (call or sms)")


def is_final(kind: str, status: str | None) -> bool:
    return status in (CALL_FINAL if kind == "call" else SMS_FINAL)


def advance(kind: str, current: str | None, reported: str) -> str | None:
    """The new status if ``reported`` moves a ``kind`` (``call`` or ``sms``) on from
    ``current``, else None (late, duplicate, or after a final status). ValueError for a status
    Twilio does not send."""
    ranks = _ranks(kind)
    new = reported.strip().lower()
    if new not in ranks:
        raise ValueError(f"unknown {kind} status {reported!r}")
    if current is None:
        return new
    if is_final(kind, current) and not (kind == "sms" and current == "delivered"):
        return None
    return new if ranks[new] > ranks.get(current, -1) else None
