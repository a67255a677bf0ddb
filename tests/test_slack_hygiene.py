"""Slack intake hygiene, end to end over HTTP (the real web app and bolt app, ``slack_sdk``
against the loopback fake Slack, events signed with Slack's algorithm): one person's messages
sent close together make one ticket classified on the whole text; pleasantries never open one
and are kept as messages; a client contact's direct message is a ticket, anyone else's gets
one short help answer a day."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.bootstrap import bootstrap
from adapters.slack.component import SlackComponent
from adapters.slack.direct import help_text
from adapters.storage import Database
from bot.errors import PolicyError
from bot.model import EventKind, TicketStatus
from bot.priority import Priority
from bot.sla.loader import parse_policy
from config.settings import Settings
from tests.slack_fake import SECRET, serve_fake
from tests.test_slack import SUPPORT, TRIAGE, Running, serve

CLIENT, OTHER_CLIENT, DM_CONTACT, MAILED, STRANGER = "UCLIENT", "UCLIENT2", "UJO", "UKIM", "UX"
T0 = 1790000100.0


def _settings(database: Database, base_url: str) -> Settings:
    storage: dict[str, Any] = {"url": database.url.render_as_string(hide_password=False)}
    if database.schema:
        storage["schema"] = database.schema
    return Settings.model_validate({
        "storage": storage, "web": {"enabled": True},
        "slack": {"enabled": True, "bot_token": "xoxb-test", "signing_secret": SECRET,
                  "api_base_url": base_url},
        "clients": [{"name": "acme", "policy": "panenco", "email_domains": ["acme.example"],
                     "slack_channels": [SUPPORT], "triage_channel": TRIAGE,
                     "slack_users": [DM_CONTACT]}],
        "staff": [{"name": "alice", "slack_user": "UALICE"}],
    })


@pytest.fixture
def running(database: Database) -> Iterator[Running]:
    fake, fake_server = serve_fake()
    fake.users[MAILED] = {"id": MAILED, "name": "kim",
                          "profile": {"display_name": "Kim", "email": "kim@acme.example"}}
    fake.users[STRANGER] = {"id": STRANGER, "name": "x",
                            "profile": {"display_name": "X", "email": "x@elsewhere.example"}}
    app = bootstrap(_settings(database, fake.base_url), upgrade=False)
    component = SlackComponent(app, sender_interval=0.1)
    server, thread, url = serve(app, [component])
    try:
        yield Running(app, fake, url, component)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        fake_server.shutdown()
        app.close()


def ts(seconds: float) -> str:
    return f"{T0 + seconds:.6f}"


def message(at: float, text: str, user: str = CLIENT, **extra: Any) -> dict[str, Any]:
    return {"type": "message", "channel": SUPPORT, "user": user, "text": text, "ts": ts(at),
            "channel_type": "channel", **extra}


def send(running: Running, *events: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Deliver the events in order, each processed before the next; (state, reason) by id."""
    done = len(running.wait_processed(0))
    for i, ev in enumerate(events):
        running.event(ev, f"Ev{done + i:04d}")
        running.wait_processed(done + i + 1)
    rows = running.wait_processed(done + len(events))
    return {r.key: (r.state, r.reason) for r in rows}


def messages(running: Running, ref: str) -> list[dict[str, Any]]:
    t = running.app.helpdesk.show(ref).ticket
    return [e.data for e in t.events if e.kind == EventKind.MESSAGE_RECEIVED]


def test_one_persons_burst_is_one_ticket_classified_on_the_whole_text(
        running: Running) -> None:
    window = running.app.helpdesk.policies.get("panenco").slack_group_window
    assert window == timedelta(minutes=2)  # the default: the policy says nothing
    send(running, message(0, "Checkout is broken"),
         message(60, "All users get errors since 9:00, no workaround."),
         message(60 + window.total_seconds(), "also the invoices page"),  # 2 min after the last
         message(70, "Our VPN is down", user=OTHER_CLIENT),  # someone else: their own ticket
         message(60 + 2 * window.total_seconds() + 1, "The search is slow"))  # past the window
    views = sorted(running.app.helpdesk.list(), key=lambda v: v.ticket.id or 0)
    assert [(v.ticket.subject, v.ticket.requester) for v in views] == [
        ("Checkout is broken", f"slack:{CLIENT}"), ("Our VPN is down", f"slack:{OTHER_CLIENT}"),
        ("The search is slow", f"slack:{CLIENT}")]
    first = views[0].ticket
    assert [m["text"] for m in messages(running, first.reference)] == [
        "All users get errors since 9:00, no workaround.", "also the invoices page"]
    # alone the first line is the client default; with what joined it, a P1 (phone and all)
    sets = [e for e in first.events if e.kind == EventKind.PRIORITY_SET]
    assert [(e.data["priority"], e.actor) for e in sets] == [("P3", "classifier"),
                                                             ("P1", "classifier")]
    assert first.priority == "P1" and first.phone_followup == "pending"
    # one answer in each reporter's thread, and the new priority in the first one's, once
    posts = running.fake.wait_for("chat.postMessage", 4, channel=SUPPORT)
    assert sorted(c.params["thread_ts"] for c in posts) == [ts(0), ts(0), ts(70),
                                                           ts(1 + 60 + 240)]
    (again,) = [c.params["text"] for c in posts if "is now priority" in c.params["text"]]
    assert again.startswith(f"With what you added, *{first.reference}* is now priority *P1*.")
    assert "phone call" in again
    # a reply in the thread of a message that joined is a follow-up of the same ticket
    send(running, message(400, "still broken", thread_ts=ts(60)))
    assert messages(running, first.reference)[-1]["text"] == "still broken"


def test_staff_priority_is_not_overruled_by_messages_that_join(running: Running) -> None:
    send(running, message(0, "Checkout is broken"))
    ref = running.app.helpdesk.list()[0].reference
    running.app.helpdesk.set_priority(ref, Priority.P4, actor="cli:alice", reason="a test shop")
    send(running, message(30, "All users get errors, no workaround."))
    assert running.app.helpdesk.show(ref).ticket.priority == "P4"


def test_pleasantries_open_nothing_and_are_kept_on_the_ticket(running: Running) -> None:
    states = send(running, message(0, "thanks! :pray:"), message(10, "👍"))
    assert list(states.values()) == [("ignored", "a pleasantry: no ticket opened")] * 2
    assert running.app.helpdesk.list() == []

    send(running, message(100, "Checkout is broken"))
    ref = running.app.helpdesk.list()[0].reference
    running.app.helpdesk.resolve(ref, actor="cli:alice")
    states = send(running, message(3600, "Thanks a lot for the quick fix 🙏"),
                  message(3610, "merci beaucoup !", thread_ts=ts(100)),
                  message(3620, "ok", thread_ts=ts(100)),
                  message(3630, "ok but the invoices page is still blank", thread_ts=ts(100)))
    assert len(running.app.helpdesk.list()) == 1  # no new ticket
    t = running.app.helpdesk.show(ref).ticket
    assert t.status == TicketStatus.RESOLVED  # not reopened
    assert [(m["text"], bool(m.get("pleasantry"))) for m in messages(running, ref)] == [
        ("Thanks a lot for the quick fix 🙏", True), ("merci beaucoup !", True), ("ok", True),
        ("ok but the invoices page is still blank", False)]
    assert ("done", "a pleasantry: kept on the ticket") in states.values()


def test_a_contacts_direct_message_is_a_ticket_and_others_get_help_once_a_day(
        running: Running) -> None:
    def dm(at: float, user: str, text: str, channel: str) -> dict[str, Any]:
        return {"type": "message", "channel": channel, "user": user, "text": text, "ts": ts(at),
                "channel_type": "im"}

    states = send(running, dm(0, DM_CONTACT, "The export fails for everyone", "DJO"),
                  dm(5, MAILED, "Login page shows a 500", "DKIM"),
                  dm(10, STRANGER, "hello, can you help me?", "DX"),
                  dm(20, STRANGER, "anyone?", "DX"))
    views = sorted(running.app.helpdesk.list(), key=lambda v: v.ticket.id or 0)
    assert [(v.ticket.client_name, v.ticket.requester) for v in views] == [
        ("acme", f"slack:{DM_CONTACT}"), ("acme", f"slack:{MAILED}")]
    # each contact's answer in their own conversation, in the message's thread
    for channel, at in (("DJO", 0), ("DKIM", 5)):
        (link,) = running.fake.wait_for("chat.postMessage", channel=channel)
        assert link.params["thread_ts"] == ts(at) and "registered as" in link.params["text"]
    (help_,) = running.fake.wait_for("chat.postMessage", channel="DX")
    assert help_.params["text"] == help_text("support@localhost")  # mail.support_addresses
    assert "mail support@localhost" in help_.params["text"]
    assert sorted(reason for state, reason in states.values() if state == "ignored") == [
        "a direct message from no client's contact: help answered",
        "a direct message from no client's contact: help answered already today"]
    running.component.sender.wake()
    assert len(running.fake.called("chat.postMessage", channel="DX")) == 1


POLICY = (Path(__file__).resolve().parents[1] / "config" / "policies" / "panenco.toml"
          ).read_text(encoding="utf-8")


def test_the_policy_sets_the_window() -> None:
    p = parse_policy((POLICY + '[intake]\nslack_group_window = "45s"\n').encode(), "p.toml")
    assert p.slack_group_window == timedelta(seconds=45)
    with pytest.raises(PolicyError, match=r"intake\.slack_group_window"):
        parse_policy((POLICY + '[intake]\nslack_group_window = "soon"\n').encode(), "p.toml")


def test_a_contact_that_is_no_slack_user_id_is_a_config_error_naming_the_key(
        tmp_path: Path) -> None:
    from bot.errors import ConfigError
    from config.settings import load_settings

    path = tmp_path / "settings.toml"
    path.write_text('[[clients]]\nname = "acme"\nslack_users = ["jo@acme.example"]\n',
                    encoding="utf-8")
    with pytest.raises(ConfigError, match=r"clients.*slack_users") as exc:
        load_settings(path, env={}, cwd=tmp_path)
    assert "settings.toml" in str(exc.value)
    path.write_text('[[clients]]\nname = "acme"\nslack_users = ["U024BE7LH"]\n', encoding="utf-8")
    assert load_settings(path, env={}, cwd=tmp_path).client_objects()[0].slack_users == (
        "U024BE7LH",)
