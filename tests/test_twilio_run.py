"""The P1 phone follow-up through a real ``supportbot run`` process: a P1 mailed to the SMTP
intake pages on-call through the real ``twilio`` client against the loopback fake REST API;
signed webhooks sent to the running web app confirm the client's call and take the page; every
attempt and outcome reaches the ticket's Slack triage thread (the loopback fake Slack API) and
``supportbot tickets show``."""

from __future__ import annotations

import smtplib
from pathlib import Path

import httpx
from twilio.request_validator import RequestValidator

from adapters.storage import Database
from adapters.twilio.component import PATHS
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.procs import BotProcess, cli_json, free_port, storage_toml
from tests.slack_fake import SECRET, FakeSlack, serve_fake
from tests.webserve import serve, wait_for

ALICE, BOB = "+3247000001", "+3247000002"
ACME_PHONE, TWILIO_NUMBER = "+3216123456", "+3278000000"
TRIAGE = "CTRIAGE"


def signed_post(public: str, route: str, params: dict[str, str]) -> httpx.Response:
    """A webhook as Twilio sends it: form-encoded, signed over the public URL."""
    url = public + PATHS[route]
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
    return httpx.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=10)


def thread_lines(slack: FakeSlack) -> list[str]:
    """What the bot posted in threads of the triage channel."""
    return [str(c.params.get("text", "")) for c in slack.called("chat.postMessage",
                                                                 channel=TRIAGE)
            if c.params.get("thread_ts")]


def write_config(tmp_path: Path, database: Database, *, smtp: int, web: int, twilio_api: str,
                 slack_api: str) -> Path:
    config = tmp_path / "supportbot.toml"
    config.write_text(storage_toml(database) + f"""
[smtp]
port = {smtp}

[mail]
support_addresses = ["support@provider.example"]

[scheduler]
enabled = false

[log]
level = "INFO"

[web]
enabled = true
port = {web}
public_url = "http://127.0.0.1:{web}"

[slack]
enabled = true
bot_token = "xoxb-test"
signing_secret = "{SECRET}"
api_base_url = "{slack_api}"

[twilio]
enabled = true
account_sid = "{ACCOUNT_SID}"
auth_token = "{AUTH_TOKEN}"
from_number = "{TWILIO_NUMBER}"
api_base_url = "{twilio_api}"
poll_seconds = 0.1

[oncall]
numbers = ["{ALICE}", "{BOB}"]
interval_seconds = 60

[[clients]]
name = "acme"
policy = "demo247"
email_domains = ["acme.example"]
phones = ["+32 16 12 34 56"]
triage_channel = "{TRIAGE}"

[[staff]]
name = "alice"
phone = "{ALICE}"
slack_user = "UALICE"

[[staff]]
name = "bob"
phone = "{BOB}"
""", encoding="utf-8")
    return config


def test_a_mailed_p1_is_paged_taken_by_pressing_1_and_told_in_slack(
        tmp_path: Path, database: Database) -> None:
    twilio = FakeTwilio()
    slack, slack_server = serve_fake()
    smtp, web = free_port(), free_port()
    public = f"http://127.0.0.1:{web}"
    with serve(twilio.routes()) as twilio_api:
        config = write_config(tmp_path, database, smtp=smtp, web=web, twilio_api=twilio_api,
                              slack_api=slack.base_url)
        bot = BotProcess(config, "phonebot")
        try:
            bot.start(wait=False)
            bot.wait_for(r"web app listening")
            bot.wait_for(r"SMTP intake listening")
            with smtplib.SMTP("127.0.0.1", smtp, timeout=30) as c:
                c.sendmail("jo@acme.example", ["support@provider.example"],
                           b"From: jo@acme.example\r\nTo: support@provider.example\r\n"
                           b"Subject: [P1] Checkout down\r\n"
                           b"Message-ID: <p1-run@acme.example>\r\n\r\n"
                           b"Nobody can pay, no workaround.\r\n")

            # paged: a call with <Gather> and an SMS to the first number on call
            wait_for(lambda: twilio.calls and twilio.messages, "the first paging call")
            [call] = twilio.calls
            assert call["To"] == ALICE and "<Gather" in call["Twiml"]
            assert "T 1 0 0 1" in call["Twiml"] and "[T-1001]" in twilio.messages[0]["Body"]

            # the client's follow-up call, to the running web app: confirmed
            answer = signed_post(public, "voice", {"CallSid": "CA" + "c" * 32,
                                                   "From": ACME_PHONE, "To": TWILIO_NUMBER})
            assert answer.status_code == 200 and "T 1 0 0 1" in answer.text

            # Alice answers and presses 1: the page is hers, paging stops
            sid = call["Sid"]
            assert signed_post(public, "call_status", {"CallSid": sid, "CallStatus":
                                                       "in-progress"}).status_code == 204
            taken = signed_post(public, "gather", {"CallSid": sid, "Digits": "1"})
            assert taken.status_code == 200 and "T 1 0 0 1 is yours" in taken.text
            assert signed_post(public, "call_status", {"CallSid": sid, "CallStatus":
                                                       "completed"}).status_code == 204
            forged = httpx.post(public + PATHS["gather"], data={"CallSid": sid, "Digits": "1"},
                                headers={"X-Twilio-Signature": "bm90IGl0"}, timeout=10)
            assert forged.status_code == 403

            # every attempt and outcome in the ticket's Slack thread...
            wanted = ("page started", "page attempt", "page taken", "assigned",
                      "page call ended", "phone followup confirmed")
            def missing() -> list[str]:
                return [w for w in wanted if not any(w in line for line in thread_lines(slack))]

            try:
                wait_for(lambda: not missing(), "the triage thread")
            except AssertionError:
                raise AssertionError(f"not in the triage thread: {missing()}; posted: "
                                     f"{thread_lines(slack)}\n{bot.log()}") from None
            [post] = [c for c in slack.called("chat.postMessage", channel=TRIAGE)
                      if not c.params.get("thread_ts")]
            assert "T-1001" in post.params["text"]
            threads = {c.params["thread_ts"] for c in slack.called("chat.postMessage",
                                                                    channel=TRIAGE)
                       if c.params.get("thread_ts")}
            assert threads == {slack.answers[0]["ts"]}, "all in the ticket's own thread"
            lines = thread_lines(slack)
            assert sum("page started" in line for line in lines) == 1
            assert any("page taken" in line and "alice" in line for line in lines)
            assert any("outcome: taken" in line for line in lines)

            # ...and in the ticket
            t = cli_json(config, "tickets", "show", "T-1001")
            kinds = [e["kind"] for e in t["events"]]
            for kind in ("page_started", "page_attempt", "page_taken", "assigned",
                         "page_call_ended", "phone_followup_confirmed"):
                assert kinds.count(kind) == 1, (kind, kinds)
            assert t["priority"] == "P1" and t["assignee"] == "alice"
            assert t["phone_followup"] == "confirmed"
            ended = next(e for e in t["events"] if e["kind"] == "page_call_ended")
            assert ended["data"]["outcome"] == "taken"
            assert len(twilio.calls) == 1, "nobody else was called"
            assert bot.stop() == 0
            log = bot.all_logs()
            assert "Traceback" not in log and AUTH_TOKEN not in log
        finally:
            bot.close()
            slack_server.shutdown()
