"""Mail end to end: a real SMTP intake, processing from storage, the outbox sent to a real
relay (an aiosmtpd sink). Time comes from a manual clock; both storage backends."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from email.policy import SMTP

from adapters.storage import SqlUnitOfWork
from bot.model import EventKind, TicketStatus
from bot.priority import Priority
from tests.mailbot import SUPPORT, Bot, mail, reply_to


def test_new_mail_registers_a_classified_ticket_and_acknowledges_it(bot: Bot) -> None:
    m = mail("Jo Peeters <jo@acme.example>", "Production down",
             "Since 08:30 all users get errors on checkout. No workaround.")
    outcome, sent = bot.roundtrip(m)
    assert outcome.state == "done" and outcome.action == "registered; acknowledged"
    view = bot.app.helpdesk.show(outcome.reference or "")
    t = view.ticket
    assert (t.client_name, t.priority, t.requester, t.channel) == (
        "acme", Priority.P1, "jo@acme.example", "email")
    assert t.phone_followup == "pending"
    [ack] = sent
    assert ack["To"] == "jo@acme.example"
    assert ack["Subject"] == f"[{t.reference}] Re: Production down"
    assert ack["In-Reply-To"] == m["Message-ID"] and m["Message-ID"] in ack["References"]
    assert ack["Auto-Submitted"] == "auto-replied"
    body = ack.get_content()
    assert f"registered your report as {t.reference}" in body
    assert "Priority: P1" in body and "all users" in body.lower()
    assert "due Mon 23 Nov 2026 11:00 CET" in body  # response: 09:00 + 2 working hours
    assert "call us now on +32 16 00 00 00 and mention" in body  # grouped for reading
    # the raw message is kept on the ticket
    with SqlUnitOfWork(bot.app.db, write=False) as uow:
        [stored] = uow.messages.for_ticket(t.id or 0)
    def lines(raw: bytes) -> bytes:  # SMTP carries CRLF and ends the data with one
        return raw.replace(b"\r\n", b"\n").rstrip(b"\n")

    assert lines(stored.raw) == lines(m.as_bytes())
    assert [e.kind for e in t.events][-1] == EventKind.MAIL_SENT


def test_a_reply_threads_into_its_ticket_with_quoted_history_stripped(bot: Bot) -> None:
    first = mail("jo@acme.example", "Export broken", "The CSV export fails for my account.")
    outcome, [ack] = bot.roundtrip(first)
    ref = outcome.reference
    answer = reply_to(ack, "jo@acme.example",
                      "It also fails on Firefox.\n\nOn Mon, 23 Nov 2026, Support wrote:\n"
                      "> We have registered your report\n")
    o2, sent = bot.roundtrip(answer)
    assert (o2.state, o2.action, o2.reference) == ("done", "follow-up", ref)
    assert sent == []  # follow-ups are not acknowledged
    t = bot.app.helpdesk.show(ref or "").ticket
    received = [e for e in t.events if e.kind == EventKind.MESSAGE_RECEIVED]
    assert received[0].data["text"].strip() == "It also fails on Firefox."


def test_the_subject_token_threads_only_for_the_clients_own_contacts(bot: Bot) -> None:
    outcome, _ = bot.roundtrip(mail("jo@acme.example", "Slow reports", "Reports are slow."))
    ref = outcome.reference
    colleague = mail("an@acme.example", f"Re: [{ref}] Slow reports", "Same here.")
    o2, _ = bot.roundtrip(colleague)
    assert (o2.action, o2.reference) == ("follow-up", ref)
    stranger = mail("cto@globex.example", f"[{ref}] what is this?", "Tell me about it")
    o3, [ack] = bot.roundtrip(stranger)
    assert o3.reference != ref and o3.action == "registered; acknowledged"
    assert "Slow reports" not in ack.as_string()  # nothing of acme's ticket is disclosed


def test_the_same_mail_twice_changes_nothing(bot: Bot) -> None:
    m = mail("jo@acme.example", "Login broken", "Nobody can log in.")
    o1, sent1 = bot.roundtrip(m)
    o2, sent2 = bot.roundtrip(m)
    # a copy with different trace headers (as IMAP would deliver it) is the same message too
    copy = b"Received: from mx.example by imap.example; Mon, 23 Nov 2026 09:00:00 +0100\r\n" \
           + m.as_bytes(policy=SMTP)
    o3, sent3 = bot.roundtrip(copy)
    assert o1.state == "done" and len(sent1) == 1
    assert (o2.state, o2.reference, sent2) == ("duplicate", o1.reference, [])
    assert (o3.state, o3.reference, sent3) == ("duplicate", o1.reference, [])
    assert len(bot.app.helpdesk.list()) == 1


def test_out_of_office_and_bounces_are_recorded_never_answered(bot: Bot) -> None:
    outcome, [ack] = bot.roundtrip(mail("jo@acme.example", "Bug", "Button misaligned."))
    ref = outcome.reference
    ooo = reply_to(ack, "jo@acme.example", "I am out of the office until Monday.",
                   Auto_Submitted="auto-replied")
    ooo.replace_header("Subject", "Automatic reply: " + str(ack["Subject"]))
    o2, sent = bot.roundtrip(ooo)
    assert (o2.state, o2.reference, sent) == ("ignored", ref, [])
    bounce = EmailMessage()
    bounce["From"] = "MAILER-DAEMON@mx.acme.example"
    bounce["To"] = SUPPORT
    bounce["Subject"] = "Undelivered Mail Returned to Sender"
    bounce["Message-ID"] = "<bounce1@mx.acme.example>"
    bounce.set_content("This is the mail system at host mx.acme.example.\n\n"
                       "I'm sorry to have to inform you that your message could not\n"
                       "be delivered to one or more recipients.\n")
    bounce.add_attachment(ack)  # message/rfc822: the returned mail
    o3, sent3 = bot.roundtrip(bounce)
    assert (o3.state, o3.reference, sent3) == ("ignored", ref, [])
    kinds = [e.data["kind"] for e in bot.app.helpdesk.show(ref or "").ticket.events
             if e.kind == EventKind.AUTO_REPLY_RECEIVED]
    assert kinds == ["auto-reply", "bounce"]
    assert len(bot.app.helpdesk.list()) == 1  # neither opened a ticket


def test_mail_from_the_bots_own_address_is_never_a_requester(bot: Bot) -> None:
    o, sent = bot.roundtrip(mail(SUPPORT, "loop?", "hello"))
    assert (o.state, sent) == ("ignored", [])
    assert bot.app.helpdesk.list() == []


def test_unknown_senders_are_accepted_or_told_as_configured(make_bot) -> None:  # type: ignore[no-untyped-def]
    accepting = make_bot()
    o, [_ack] = accepting.roundtrip(mail("someone@nowhere.example", "Help", "It broke."))
    assert o.action == "registered; acknowledged"
    assert accepting.app.helpdesk.show(o.reference or "").ticket.client_name == ""
    rejecting = make_bot(unknown_senders="reject")
    o2, [answer] = rejecting.roundtrip(mail("other@nowhere.example", "Help", "It broke."))
    assert o2.state == "ignored" and "not a contact" in o2.action
    assert "not registered" in answer.get_content()
    assert answer["Auto-Submitted"] == "auto-replied"


def test_acknowledgements_are_rate_limited_per_sender(bot: Bot) -> None:
    acks = 0
    for i in range(7):
        o, sent = bot.roundtrip(mail("flood@acme.example", f"Issue {i}", f"Problem {i}"))
        assert o.state == "done"
        acks += len(sent)
    assert acks == 5  # mail.ack_limit_per_hour
    bot.clock.advance(timedelta(hours=1, minutes=1))
    _, sent = bot.roundtrip(mail("flood@acme.example", "Issue 8", "Problem 8"))
    assert len(sent) == 1


def test_staff_reply_and_notices_go_to_the_client_in_the_thread(bot: Bot) -> None:
    first = mail("jo@acme.example", "Checkout down", "All users blocked, no workaround.")
    o, [ack] = bot.roundtrip(first)
    ref = o.reference or ""
    bot.clock.advance(timedelta(minutes=20))
    view = bot.app.helpdesk.respond(ref, actor="alice", message="We are on it.")
    assert view.clocks["response"].status == "met"
    [reply] = bot.deliver()
    assert reply["To"] == "jo@acme.example" and reply["Subject"] == f"[{ref}] Re: Checkout down"
    assert reply["In-Reply-To"] in (ack["Message-ID"], first["Message-ID"])
    assert first["Message-ID"] in reply["References"] and ack["Message-ID"] in reply["References"]
    assert "We are on it." in reply.get_content()
    assert reply["Auto-Submitted"] is None  # a person wrote it: the client's systems may answer
    bot.app.helpdesk.set_priority(ref, Priority.P2, actor="alice", reason="only checkout")
    bot.app.helpdesk.confirm_cause(ref, actor="alice")
    bot.app.helpdesk.resolve(ref, actor="alice", note="hotfix 1.2.3")
    notices = [m.get_content() for m in bot.deliver()]
    assert len(notices) == 3
    assert "from P1 to P2" in notices[0] and "only checkout" in notices[0]
    assert "cause" in notices[1] and "due" in notices[1]
    assert "resolved" in notices[2] and "hotfix 1.2.3" in notices[2]
    # the client answers within the reopen window: the ticket reopens
    bot.clock.advance(timedelta(hours=2))
    o2, _ = bot.roundtrip(reply_to(ack, "jo@acme.example", "Still broken for me."))
    assert o2.action == "follow-up reopened the ticket"
    assert bot.app.helpdesk.show(ref).ticket.status == TicketStatus.OPEN


def test_outbox_retries_until_the_relay_takes_it_and_sends_once(bot: Bot) -> None:
    bot.sink.handler.refuse = True
    _, sent = bot.roundtrip(mail("jo@acme.example", "Bug", "Something."))
    assert sent == []
    from adapters.mail.outbound import outbox_rows

    [row] = outbox_rows(bot.app.db)
    assert row.state == "pending" and row.attempts == 1 and "451" in row.last_error
    assert bot.deliver() == []  # not due yet: backoff
    bot.sink.handler.refuse = False
    bot.clock.advance(timedelta(minutes=2))
    assert len(bot.deliver()) == 1
    bot.clock.advance(timedelta(hours=1))
    assert bot.deliver() == []  # sent once
    assert outbox_rows(bot.app.db)[0].state == "sent"


def test_a_null_envelope_sender_marks_a_delivery_report(bot: Bot) -> None:
    report = mail("Mail Delivery System <relay@acme.example>", "Delivery report", "Failed.")
    bot.send(report, envelope_from="")  # MAIL FROM:<>
    [o] = bot.process()
    assert (o.state, o.action) == ("ignored", "bounce, no ticket matched")
    with SqlUnitOfWork(bot.app.db, write=False) as uow:
        assert "null envelope sender" in (uow.inbound.get(o.inbound_id) or o).reason  # type: ignore[union-attr]
    assert bot.app.helpdesk.list() == [] and bot.deliver() == []


def test_mail_system_addresses_get_a_ticket_but_no_acknowledgement(bot: Bot) -> None:
    o, sent = bot.roundtrip(mail("Bob <postmaster@acme.example>", "Our site is slow",
                                 "Pages load slowly for some users."))
    assert o.state == "done" and sent == []
    assert o.action == "registered; not acknowledged: postmaster@acme.example is a mail-system " \
                       "address"


def test_list_mail_from_a_client_opens_a_ticket_but_is_not_answered(bot: Bot) -> None:
    via_group = mail("jo@acme.example", "Checkout errors", "Errors since the release.",
                     List_Id="<ops.acme.example>", Precedence="list")
    o, sent = bot.roundtrip(via_group)
    assert (o.state, sent) == ("done", [])
    assert o.action.endswith("list or bulk mail is never answered (RFC 3834)")
    newsletter = mail("news@vendor.example", "Our autumn offers", "Buy now.",
                      List_Unsubscribe="<mailto:unsubscribe@vendor.example>",
                      Precedence="bulk")
    o2, sent2 = bot.roundtrip(newsletter)
    assert (o2.state, sent2) == ("ignored", [])
    assert len(bot.app.helpdesk.list()) == 1


def test_a_forwarded_report_keeps_its_forwarded_text(bot: Bot) -> None:
    fwd = mail("jo@acme.example", "FW: Error in the portal",
               "See below.\n\nFrom: Portal <noreply@portal.acme.example>\n"
               "Sent: Monday, 23 November 2026 08:40\nTo: Jo\nSubject: Error\n\n"
               "Error 500 on /checkout for all users.\n")
    o, _ = bot.roundtrip(fwd)
    assert "Error 500 on /checkout" in bot.app.helpdesk.show(o.reference or "").ticket.body


def test_attachments_are_listed_on_the_ticket_within_limits(make_bot) -> None:  # type: ignore[no-untyped-def]
    bot = make_bot(max_attachment_bytes=1000)
    m = mail("jo@acme.example", "Invoice export wrong", "See the attached files.")
    m.add_attachment(b"date,amount\n2026-11-01,12.50\n", maintype="text", subtype="csv",
                     filename="export.csv")
    m.add_attachment(b"x" * 5000, maintype="application", subtype="octet-stream",
                     filename="../../etc/big.bin")
    o, _ = bot.roundtrip(m)
    registered = bot.app.helpdesk.show(o.reference or "").ticket.events[0]
    small, big = registered.data["attachments"]
    assert (small["filename"], small["size"], "skipped" in small) == ("export.csv", 29, False)
    assert "/" not in big["filename"] and big["size"] == 5000 and big["skipped"]


def test_the_log_reads_in_the_order_things_happened_on_a_moving_clock(make_bot) -> None:  # type: ignore[no-untyped-def]
    """Registered, classified, then acknowledged: the acknowledgement's ``mail_sent`` is
    never logged before the registration it answers, however time moves meanwhile."""
    bot = make_bot(ticking=True)
    outcome, sent = bot.roundtrip(mail("jo@acme.example", "Production down",
                                       "All users get errors on checkout."))
    assert len(sent) == 1
    t = bot.app.helpdesk.show(outcome.reference or "").ticket
    assert (t.events[0].kind, t.events[-1].kind) == (EventKind.REGISTERED, EventKind.MAIL_SENT)
    ats = [e.at for e in t.events]
    assert ats == sorted(ats) and t.created_at == ats[0]


def test_a_reply_after_the_reopen_window_opens_a_new_ticket_linked_both_ways(bot: Bot) -> None:
    first = mail("jo@acme.example", "Checkout down", "Checkout fails for all users.")
    o1, [ack] = bot.roundtrip(first)
    ref = o1.reference or ""
    bot.app.helpdesk.resolve(ref, actor="alice", note="hotfix")
    bot.deliver()
    bot.clock.advance(timedelta(days=10))  # the window is 7 days
    o2, sent = bot.roundtrip(reply_to(ack, "jo@acme.example", "It is back since this morning."))
    assert o2.state == "done" and o2.reference not in (None, ref)
    assert o2.action.startswith("registered")
    new = bot.app.helpdesk.show(o2.reference or "").ticket
    assert f"(follow-up to resolved ticket {ref})" in new.body
    assert [m["Subject"].startswith(f"[{new.reference}]") for m in sent] == [True]
    old = bot.app.helpdesk.show(ref).ticket
    assert old.status == TicketStatus.RESOLVED
    assert old.events[-1].kind == EventKind.NOTE and new.reference in old.events[-1].data["text"]


def test_with_late_reply_follow_up_the_old_ticket_keeps_it_and_triage_is_told(
        make_bot) -> None:  # type: ignore[no-untyped-def]
    bot = make_bot(late_reply="follow_up")
    o1, [ack] = bot.roundtrip(mail("jo@acme.example", "Checkout down", "Fails for all."))
    ref = o1.reference or ""
    bot.app.helpdesk.resolve(ref, actor="alice")
    assert len(bot.deliver()) == 1  # the resolution notice
    bot.clock.advance(timedelta(days=10))
    o2, sent = bot.roundtrip(reply_to(ack, "jo@acme.example", "Back again."))
    assert (o2.reference, o2.action) == (ref, "follow-up after the reopen window: triage told")
    assert sent == []  # a person answers this one
    t = bot.app.helpdesk.show(ref).ticket
    assert t.status == TicketStatus.RESOLVED
    assert [e.kind for e in t.events][-2:] == [EventKind.MESSAGE_RECEIVED, EventKind.NOTE]
    assert "10 days after the resolution" in t.events[-1].data["text"]
