"""A client's mail that is only a pleasantry ("Thanks!", with a name or a signature after it),
end to end through the SMTP intake and the outbox: kept on its ticket as a marked message; it
reopens nothing, opens nothing after the reopen window, and is not acknowledged."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.model import EventKind, TicketStatus
from tests.mailbot import Bot, mail, reply_to


@pytest.mark.parametrize("days", [1, 10])  # within the 7-day reopen window, and after it
def test_a_thank_you_after_resolution_is_kept_and_reopens_nothing(bot: Bot, days: int) -> None:
    o1, [ack] = bot.roundtrip(mail("jo@acme.example", "Checkout down", "Fails for all users."))
    ref = o1.reference or ""
    bot.app.helpdesk.resolve(ref, actor="alice", note="hotfix")
    bot.deliver()
    bot.clock.advance(timedelta(days=days))
    before = len(bot.app.helpdesk.list())
    o2, sent = bot.roundtrip(reply_to(ack, "jo@acme.example",
                                      "Thanks a lot, perfect! 👍\n\nJo\n-- \nJo Peeters\n"
                                      "Acme NV | +32 16 12 34 56\n"))
    assert (o2.state, o2.action, o2.reference) == ("done", "a pleasantry: kept on the ticket",
                                                  ref)
    assert sent == []  # no acknowledgement, no new ticket's mail
    assert len(bot.app.helpdesk.list()) == before
    t = bot.app.helpdesk.show(ref).ticket
    assert t.status == TicketStatus.RESOLVED
    last = t.events[-1]
    assert last.kind == EventKind.MESSAGE_RECEIVED and last.data["pleasantry"] is True
    assert last.data["text"].startswith("Thanks a lot, perfect!")

    # a real answer still reopens (inside the window) as before
    o3, _ = bot.roundtrip(reply_to(ack, "jo@acme.example", "Thanks, but it fails again."))
    assert o3.action != "a pleasantry: kept on the ticket"
