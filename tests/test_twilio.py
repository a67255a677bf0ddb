"""Twilio end to end: the component served by uvicorn, webhooks signed with Twilio's algorithm
and sent over HTTP, paging through the real ``twilio`` client against a fake REST API."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import pytest
from slack_sdk.web.async_client import AsyncWebClient
from twilio.request_validator import RequestValidator

from adapters.bootstrap import App, bootstrap
from adapters.reminders.sinks import PHONE
from adapters.slack.sender import SlackSender
from adapters.storage import Database, SqlUnitOfWork
from adapters.twilio.component import PATHS, TwilioComponent
from adapters.twilio.setup import twilio_component
from bot.alerts import Alert
from bot.clock import ManualClock
from bot.model import Channel, EventKind, TicketStatus
from bot.priority import Priority
from bot.ticket import Ticket
from config.settings import Settings
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.procs import free_port
from tests.slack_fake import SECRET as SLACK_SECRET
from tests.slack_fake import serve_fake
from tests.webserve import serve, wait_for

ALICE, BOB = "+3247000001", "+3247000002"
ACME_PHONE = "+3216123456"
TWILIO_NUMBER = "+3278000000"


@dataclass
class RecordingSink:
    name: str = "recording"
    alerts: list[Alert] = field(default_factory=list)

    def deliver(self, alert: Alert) -> None:
        self.alerts.append(alert)


@dataclass
class Phone:
    """A bot with the Twilio component served on a free port, and the fake Twilio API."""

    app: App
    clock: ManualClock
    fake: FakeTwilio
    component: TwilioComponent
    public: str
    sink: RecordingSink

    def post(self, route: str, params: dict[str, str], *, token: str = AUTH_TOKEN,
             signed_url: str | None = None) -> httpx.Response:
        """POST a webhook as Twilio does: form-encoded, signed over the public URL."""
        path = PATHS[route]
        signature = RequestValidator(token).compute_signature(
            signed_url or self.public + path, params)
        return httpx.post(self.public + path, data=params,
                          headers={"X-Twilio-Signature": signature}, timeout=10)

    def ticket(self, ref: str) -> Ticket:
        return self.app.helpdesk.show(ref).ticket

    def kinds(self, ref: str) -> list[str]:
        return [e.kind.value for e in self.ticket(ref).events]

    def rounds(self, n: int = 3) -> None:
        """Let the pager loop run ``n`` more rounds."""
        target = self.component.ticks + n
        wait_for(lambda: self.component.ticks >= target, f"{n} pager rounds")


def settings_for(database: Database, public: str, api: str, slack: dict[str, object] | None = None,
                 **oncall: object) -> Settings:
    url = database.url.render_as_string(hide_password=False)
    return Settings.model_validate({
        "slack": slack or {},
        "storage": {"url": url, "schema": database.schema},
        "clients": [{"name": "acme", "email_domains": ["acme.example"],
                     "phones": ["+32 16 12 34 56"]}],
        "staff": [{"name": "alice", "phone": ALICE}, {"name": "bob", "phone": BOB}],
        "mail": {"phone_number": "+32 16 00 00 00"},
        "web": {"public_url": public, "enabled": bool(slack)},  # Slack in HTTP mode needs it
        "twilio": {"enabled": True, "account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN,
                   "from_number": TWILIO_NUMBER, "api_base_url": api,
                   "followup_within_minutes": 60, "poll_seconds": 0.05},
        "oncall": {"numbers": [ALICE, BOB], "interval_seconds": 60,
                   "attempts_per_number": 2, **oncall},
    })


@pytest.fixture
def phone(database: Database, clock: ManualClock) -> Iterator[Phone]:
    with phone_bot(database, clock) as p:
        yield p


@contextlib.contextmanager
def phone_bot(database: Database, clock: ManualClock, **extra: object) -> Iterator[Phone]:
    fake = FakeTwilio()
    with serve(fake.routes()) as api:
        port = free_port()
        public = f"http://127.0.0.1:{port}"
        settings = settings_for(database, public, api, **extra)  # type: ignore[arg-type]
        app = bootstrap(settings, clock=clock)
        assert app.phone is not None
        sink = RecordingSink()
        app.alert_sinks.add(sink, PHONE)  # the desk sees a sink added after it was built
        component = twilio_component(settings, app.phone, app.uow)
        try:
            with serve(component.routes(), port=port, start=component.start,
                       stop=component.stop):
                yield Phone(app, clock, fake, component, public, sink)
        finally:
            app.close()


def new_p1(p: Phone, **kw: object) -> str:
    args: dict[str, object] = {"subject": "Checkout down", "body": "nobody can pay",
                               "client": "acme", "priority": Priority.P1, "actor": "alice",
                               "reason": "production down", **kw}
    return p.app.helpdesk.register(**args).reference  # type: ignore[arg-type]


def test_escalation_walks_the_whole_oncall_list_with_an_sms_each_time(phone: Phone) -> None:
    ref = new_p1(phone)
    for i, number in enumerate([ALICE, ALICE, BOB, BOB]):
        wait_for(lambda i=i: len(phone.fake.calls) > i, f"paging call {i + 1}")
        call = phone.fake.calls[i]
        assert call["To"] == number and call["From"] == TWILIO_NUMBER
        assert "<Gather" in call["Twiml"] and "T 1 0 0 1" in call["Twiml"]
        assert f'action="{phone.public}/twilio/page/gather"' in call["Twiml"]
        assert call["StatusCallback"] == phone.public + "/twilio/voice/status"
        for status in ("ringing", "no-answer"):
            assert phone.post("call_status", {"CallSid": call["Sid"],
                                              "CallStatus": status}).status_code == 204
        phone.rounds()
        assert len(phone.fake.calls) == i + 1, "the next call waits for the interval"
        phone.clock.advance(timedelta(seconds=61))
    wait_for(lambda: EventKind.PAGE_EXHAUSTED in phone.kinds(ref), "the page to be exhausted")
    wait_for(lambda: len(phone.fake.messages) == 5, "the page alert to reach on-call by SMS")
    assert [m["To"] for m in phone.fake.messages] == [ALICE, ALICE, BOB, BOB, ALICE]
    assert all("[T-1001]" in m["Body"] for m in phone.fake.messages[:4])
    # the `page` alert (for triage and on-call) reaches whoever is on call now, by SMS
    assert phone.fake.messages[4]["Body"].startswith("T-1001 P1: T-1001: nobody on call took")
    kinds = phone.kinds(ref)
    assert kinds.count("page_started") == 1
    assert kinds.count("page_attempt") == 4 and kinds.count("page_call_ended") == 4
    ended = [e.data for e in phone.ticket(ref).events if e.kind == EventKind.PAGE_CALL_ENDED]
    assert {d["outcome"] for d in ended} == {"no-answer"}
    assert [a.kind for a in phone.sink.alerts] == ["page"]
    phone.clock.advance(timedelta(hours=1))
    phone.rounds()
    assert len(phone.fake.calls) == 4


def test_pressing_1_takes_the_page_and_stops_paging(phone: Phone) -> None:
    ref = new_p1(phone)
    wait_for(lambda: phone.fake.calls, "the first paging call")
    sid = phone.fake.calls[0]["Sid"]
    phone.post("call_status", {"CallSid": sid, "CallStatus": "in-progress"})
    r = phone.post("gather", {"CallSid": sid, "Digits": "1"})
    assert r.status_code == 200 and "T 1 0 0 1 is yours" in r.text
    again = phone.post("gather", {"CallSid": sid, "Digits": "1"})  # a retried webhook
    assert "is yours" in again.text
    phone.post("call_status", {"CallSid": sid, "CallStatus": "completed"})
    taken = [e for e in phone.ticket(ref).events if e.kind == EventKind.PAGE_TAKEN]
    assert len(taken) == 1 and taken[0].actor == "alice" and taken[0].data["number"] == ALICE
    ended = [e.data for e in phone.ticket(ref).events if e.kind == EventKind.PAGE_CALL_ENDED]
    assert [d["outcome"] for d in ended] == ["taken"]
    # taking it assigns it, as a staff action: listeners hear it (the event is in the log)
    assigned = [e for e in phone.ticket(ref).events if e.kind == EventKind.ASSIGNED]
    assert phone.ticket(ref).assignee == "alice"
    assert [(e.actor, e.data["assignee"]) for e in assigned] == [("alice", "alice")]
    phone.clock.advance(timedelta(hours=2))
    phone.rounds()
    assert len(phone.fake.calls) == 1 and len(phone.fake.messages) == 1


def test_taking_a_page_leaves_an_assigned_ticket_with_its_assignee(phone: Phone) -> None:
    ref = new_p1(phone)
    phone.app.helpdesk.assign(ref, "bob", actor="bob")
    wait_for(lambda: phone.fake.calls, "the first paging call")
    r = phone.post("gather", {"CallSid": phone.fake.calls[0]["Sid"], "Digits": "1"})
    assert "is yours" in r.text
    t = phone.ticket(ref)
    assert t.assignee == "bob"
    assert [e.data["assignee"] for e in t.events if e.kind == EventKind.ASSIGNED] == ["bob"]
    assert EventKind.PAGE_TAKEN in phone.kinds(ref)


def test_answered_without_a_key_calls_again(phone: Phone) -> None:
    ref = new_p1(phone)
    wait_for(lambda: phone.fake.calls, "the first paging call")
    sid = phone.fake.calls[0]["Sid"]
    r = phone.post("gather", {"CallSid": sid, "Digits": ""})
    assert "we keep calling" in r.text
    phone.post("call_status", {"CallSid": sid, "CallStatus": "completed"})
    phone.clock.advance(timedelta(seconds=61))
    wait_for(lambda: len(phone.fake.calls) == 2, "the second call")
    assert phone.fake.calls[1]["To"] == ALICE
    ended = [e.data for e in phone.ticket(ref).events if e.kind == EventKind.PAGE_CALL_ENDED]
    assert [d["outcome"] for d in ended] == ["answered, not taken"]


def test_late_and_duplicate_status_callbacks_change_nothing(phone: Phone) -> None:
    ref = new_p1(phone)
    wait_for(lambda: phone.fake.calls and phone.fake.messages, "the first call and SMS")
    sid, sms = phone.fake.calls[0]["Sid"], phone.fake.messages[0]["Sid"]
    for status in ("busy", "ringing", "busy", "initiated", "completed"):
        phone.post("call_status", {"CallSid": sid, "CallStatus": status})
    for status in ("delivered", "sent", "delivered", "failed"):
        phone.post("sms_status", {"MessageSid": sms, "MessageStatus": status})
    with SqlUnitOfWork(phone.app.db) as uow:
        call, message = uow.phone.call(sid), uow.phone.sms(sms)
    assert call is not None and call.status == "busy"
    assert message is not None and message.status == "delivered"
    ended = [e.data for e in phone.ticket(ref).events if e.kind == EventKind.PAGE_CALL_ENDED]
    assert [d["status"] for d in ended] == ["busy"]
    bad = phone.post("call_status", {"CallSid": sid, "CallStatus": "exploded"})
    assert bad.status_code == 400


def test_bad_signatures_get_403_and_change_nothing(phone: Phone) -> None:
    new_p1(phone)
    params = {"CallSid": "CA" + "f" * 32, "From": ACME_PHONE, "To": TWILIO_NUMBER}
    forged = [
        phone.post("voice", params, token="not-the-token"),
        phone.post("voice", params, signed_url="https://elsewhere.example/twilio/voice"),
        httpx.post(phone.public + PATHS["voice"], data=params, timeout=10),
    ]
    assert [r.status_code for r in forged] == [403, 403, 403]
    with SqlUnitOfWork(phone.app.db) as uow:
        assert uow.phone.call(params["CallSid"]) is None
    assert phone.ticket("T-1001").phone_followup == "pending"
    genuine = phone.post("voice", params)
    assert genuine.status_code == 200  # the same request, signed right, goes through
    assert phone.ticket("T-1001").phone_followup == "confirmed"
    samples = {(s.name, frozenset(s.labels.items())): s.value
               for family in phone.component.metrics() for s in family.samples}
    assert samples[("supportbot_twilio_webhooks_total",
                    frozenset({("route", "voice"), ("result", "forbidden")}))] == 3


def test_client_call_confirms_its_open_p1(phone: Phone) -> None:
    ref = new_p1(phone)
    params = {"CallSid": "CA" + "1" * 32, "From": ACME_PHONE, "To": TWILIO_NUMBER}
    r = phone.post("voice", params)
    assert r.status_code == 200 and "<Say>" in r.text and "T 1 0 0 1" in r.text
    assert phone.post("voice", params).text == r.text  # Twilio retried: same answer
    t = phone.ticket(ref)
    assert t.phone_followup == "confirmed"
    confirmed = [e for e in t.events if e.kind == EventKind.PHONE_FOLLOWUP_CONFIRMED]
    assert len(confirmed) == 1 and confirmed[0].actor == f"phone:{ACME_PHONE}"


def test_call_before_the_mail_records_a_message_and_links_the_p1(phone: Phone) -> None:
    sid = "CA" + "2" * 32
    r = phone.post("voice", {"CallSid": sid, "From": ACME_PHONE, "To": TWILIO_NUMBER})
    assert "<Record" in r.text and f'action="{phone.public}/twilio/voice/recording"' in r.text
    rec = {"CallSid": sid, "RecordingUrl": "https://api.twilio.com/rec/RE1",
           "RecordingDuration": "12"}
    r = phone.post("recording", rec)
    assert "T 1 0 0 1" in r.text
    phone.post("recording", rec)  # retried: no second ticket
    voicemail = phone.ticket("T-1001")
    assert voicemail.channel == Channel.PHONE and voicemail.client_name == "acme"
    assert [e.data["recording_url"] for e in voicemail.events
            if e.kind == EventKind.VOICEMAIL_RECORDED] == [rec["RecordingUrl"]]
    phone.clock.advance(timedelta(minutes=10))  # the P1 mail comes within the window
    ref = new_p1(phone, channel=Channel.EMAIL, requester="jo@acme.example")
    assert ref == "T-1002"
    wait_for(lambda: phone.ticket(ref).phone_followup == "confirmed", "the link to the call")
    # one incident, one ticket: the phone ticket is closed as merged into the mail's
    merged = phone.ticket("T-1001")
    assert merged.status == TicketStatus.CLOSED
    closed = [e for e in merged.events if e.kind == EventKind.CLOSED]
    assert len(closed) == 1 and closed[0].data["merged_into"] == ref
    mailed = phone.ticket(ref)
    assert [e.data["from_ticket"] for e in mailed.events if e.kind == EventKind.MERGED] == \
        ["T-1001"]
    [voicemail_here] = [e for e in mailed.events if e.kind == EventKind.VOICEMAIL_RECORDED]
    assert voicemail_here.data["recording_url"] == rec["RecordingUrl"]
    assert voicemail_here.data["from_ticket"] == "T-1001"
    assert mailed.status in (TicketStatus.NEW, TicketStatus.OPEN)


def test_a_voicemail_mail_outside_the_window_is_not_merged(phone: Phone) -> None:
    sid = "CA" + "4" * 32
    phone.post("voice", {"CallSid": sid, "From": ACME_PHONE, "To": TWILIO_NUMBER})
    phone.post("recording", {"CallSid": sid, "RecordingUrl": "https://api.twilio.com/rec/RE2",
                             "RecordingDuration": "5"})
    phone.clock.advance(timedelta(minutes=31))  # the link window is 30 minutes
    ref = new_p1(phone, channel=Channel.EMAIL, requester="jo@acme.example")
    phone.rounds()
    assert phone.ticket("T-1001").status == TicketStatus.NEW
    assert EventKind.MERGED not in phone.kinds(ref)
    assert phone.ticket(ref).phone_followup == "pending"


def test_call_from_an_unknown_number_gets_no_ticket_reference(phone: Phone) -> None:
    ref = new_p1(phone)
    r = phone.post("voice", {"CallSid": "CA" + "3" * 32, "From": "+4420000000",
                             "To": TWILIO_NUMBER})
    assert "<Record" in r.text and "T 1 0 0 1" not in r.text
    assert phone.ticket(ref).phone_followup == "pending"


def test_missing_followup_reminds_the_client_and_tells_triage(phone: Phone) -> None:
    ref = new_p1(phone, channel=Channel.EMAIL, requester="jo@acme.example")
    phone.rounds()
    assert phone.sink.alerts == []
    phone.clock.advance(timedelta(minutes=61))  # Monday 10:01 Brussels: an hour of work time
    wait_for(lambda: phone.sink.alerts, "the follow-up alert")
    phone.rounds()
    assert [a.kind for a in phone.sink.alerts] == ["followup-missing"]
    alert = phone.sink.alerts[0]
    assert alert.reference == ref and alert.client == "acme" and "reminded by mail" in alert.text
    # Monday 09:00 Brussels + 60 minutes of working time, read in the policy's zone
    assert "was due Mon 23 Nov 2026 10:00 CET and has not come" in alert.text, alert.text
    events = phone.ticket(ref).events
    assert [e.kind for e in events].count(EventKind.PHONE_FOLLOWUP_MISSING) == 1
    with SqlUnitOfWork(phone.app.db) as uow:
        mail = [m for m in uow.outbox.sent_message_ids(1)]
    sent = [e.data for e in events if e.kind == EventKind.MAIL_SENT]
    assert sent and sent[-1]["to"] == ["jo@acme.example"] and sent[-1]["message_id"] in mail


def test_a_refused_number_is_recorded_and_paging_moves_on(
        phone: Phone, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    phone.fake.refuse.add(ALICE)
    ref = new_p1(phone)
    wait_for(lambda: EventKind.PAGE_ATTEMPT in phone.kinds(ref), "the first attempt")
    first = next(e for e in phone.ticket(ref).events if e.kind == EventKind.PAGE_ATTEMPT)
    assert first.data["call_sid"] is None and "HTTP 400" in first.data["error"]
    assert "not a valid phone number" in first.data["error"]
    for _ in range(2):
        phone.clock.advance(timedelta(seconds=61))
        phone.rounds()
    wait_for(lambda: phone.fake.calls, "a call to the next number")
    assert phone.fake.calls[0]["To"] == BOB
    assert caplog.records and AUTH_TOKEN not in caplog.text


async def test_phone_alerts_go_to_the_slack_triage_thread_when_slack_is_on(
        database: Database, clock: ManualClock) -> None:
    slack, server = serve_fake()
    try:
        with phone_bot(database, clock, slack={
                "enabled": True, "bot_token": "xoxb-test", "signing_secret": SLACK_SECRET,
                "api_base_url": slack.base_url, "triage_channel": "CTRIAGE"},
                attempts_per_number=1) as p:
            assert [s.name for s in p.app.phone.sinks if s is not p.sink] == ["log", "slack",
                                                                           "oncall-sms"]
            ref = new_p1(p, channel=Channel.EMAIL, requester="jo@acme.example")
            for i in range(2):  # nobody answers: the page is exhausted
                wait_for(lambda i=i: len(p.fake.calls) > i, f"paging call {i + 1}")
                p.post("call_status", {"CallSid": p.fake.calls[i]["Sid"],
                                       "CallStatus": "no-answer"})
                p.clock.advance(timedelta(seconds=61))
            p.clock.advance(timedelta(minutes=60))  # and the client's call is late
            wait_for(lambda: len(p.sink.alerts) == 2, "both alerts")
            # the Slack sink queued them in the outbox; the Slack sender posts them
            sender = SlackSender(p.app.uow, p.clock, AsyncWebClient(
                token="xoxb-test", base_url=slack.base_url), p.app.helpdesk)
            await sender.send_due()
            posts = [c for c in slack.called("chat.postMessage", channel="CTRIAGE")
                     if ":alarm_clock:" in str(c.params["text"])]
    finally:
        server.shutdown()
    texts = sorted(str(c.params["text"]) for c in posts)
    assert len(texts) == 2, texts
    assert all(f"*{ref}* P1" in t for t in texts), texts
    assert "followup-missing" in texts[0] and "reminded by mail" in texts[0]
    assert " page" in texts[1] and "nobody on call took this P1 after 2 calls" in texts[1]


def test_reminders_for_oncall_reach_whoever_is_on_call_by_sms(phone: Phone) -> None:
    sinks = [s for s in phone.app.alert_sinks if s.name == "oncall-sms"]
    assert len(sinks) == 1, "bootstrap gives the reminder engine an on-call SMS sink"
    reminder = Alert(key="T-1042/resolution/P1-75%/0", ticket_id=42, reference="T-1042",
                     client="acme", priority=Priority.P1, kind="reminder",
                     text="Resolution due Mon 23 Nov 2026 17:00 CET\n2h of working time left",
                     at=phone.clock.now(), clock="resolution",
                     targets=("triage", "assignee", "oncall"))
    sinks[0].deliver(reminder)
    sinks[0].deliver(Alert(**{**reminder.__dict__, "key": "x", "targets": ("triage",)}))
    assert [m["To"] for m in phone.fake.messages] == [ALICE], "only alerts meant for on-call"
    body = phone.fake.messages[0]["Body"]
    assert body.startswith("T-1042 P1: Resolution due") and "2h of working time left" in body


def test_webhooks_are_kept_raw_in_the_inbox_and_one_stored_but_not_acted_on_is_later(
        phone: Phone) -> None:
    from urllib.parse import urlencode

    from adapters.storage.inbox import InboxStore
    from adapters.twilio.component import form_params

    ref = new_p1(phone)
    unknown = {"CallSid": "CA" + "5" * 32, "From": "+4420000000", "To": TWILIO_NUMBER}
    first = phone.post("voice", unknown)
    assert phone.post("voice", unknown).text == first.text  # Twilio retried: one row
    assert phone.post("call_status", {"CallSid": unknown["CallSid"],
                                      "CallStatus": "exploded"}).status_code == 400
    with SqlUnitOfWork(phone.app.db, write=False) as uow:
        rows = InboxStore(uow.session).items("twilio")
    assert [(r.peer, r.state) for r in rows] == [("voice", "done"), ("call_status", "ignored")]
    assert form_params(rows[0].raw) == unknown and rows[1].reason.startswith("call_status: ")
    # stored, then the process died before acting on it: the pager loop acts on it
    call = {"CallSid": "CA" + "6" * 32, "From": ACME_PHONE, "To": TWILIO_NUMBER}
    row_id, new = phone.component.inbox.accept("crashed", urlencode(call).encode(), peer="voice")
    assert new
    phone.rounds(2)  # a request may still be acting on it
    assert phone.ticket(ref).phone_followup == "pending"
    phone.clock.advance(timedelta(seconds=31))

    def stored() -> tuple[str, int]:
        with SqlUnitOfWork(phone.app.db, write=False) as uow:
            item = InboxStore(uow.session).get(row_id)
        assert item is not None
        return item.state, item.attempts

    wait_for(lambda: stored() != ("pending", 0), "the stored call acted on")
    assert stored() == ("done", 1)
    assert phone.ticket(ref).phone_followup == "confirmed"
