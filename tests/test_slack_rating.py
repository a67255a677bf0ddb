"""Satisfaction in Slack: a Slack ticket's resolution message in the reporter's thread carries
five rating buttons; the reporter's press records a ``rated`` event, anyone else's nothing.
End to end over HTTP: the real bolt app on uvicorn, ``slack_sdk`` against the fake Web API,
block actions signed with Slack's real algorithm."""

from __future__ import annotations

import time

from bot.model import EventKind
from tests.slack_fake import WAIT
from tests.test_slack import ALICE, CLIENT, SUPPORT, Running, report, running

__all__ = ["running"]  # the fixture, shared with tests/test_slack.py


def _scores(r: Running, ref: str) -> list[int]:
    t = r.app.helpdesk.show(ref).ticket
    return [e.data["score"] for e in t.events if e.kind == EventKind.RATED]


def _wait_scores(r: Running, ref: str, want: list[int]) -> None:
    deadline = time.monotonic() + WAIT
    while _scores(r, ref) != want:
        assert time.monotonic() < deadline, f"ratings {_scores(r, ref)}, wanted {want}"
        time.sleep(0.02)


def test_the_reporter_rates_the_resolution_with_a_button(running: Running) -> None:
    running.event(report(), "Ev101")
    running.wait_processed(1)
    ref = running.app.helpdesk.list()[0].reference
    running.app.helpdesk.resolve(ref, actor="alice", note="cache flushed")
    post = next(c for c in running.fake.wait_for("chat.postMessage", channel=SUPPORT, count=2)
                if "resolved" in c.params["text"])
    assert post.params["thread_ts"] == "1790000100.000100"
    assert "cache flushed" in post.params["text"]
    actions = next(b for b in post.params["blocks"] if b["type"] == "actions")
    buttons = {e["action_id"]: e["value"] for e in actions["elements"]}
    assert sorted(buttons) == [f"rate_{n}" for n in range(1, 6)]

    # a staff member (or anyone else in the channel) pressing it records nothing
    running.action(ALICE, {"action_id": "rate_1", "value": buttons["rate_1"],
                           "type": "button", "block_id": actions["block_id"]})
    eph = running.fake.wait_for("chat.postEphemeral", user=ALICE)[0]
    assert "only the person who reported" in eph.params["text"]

    assert running.action(CLIENT, {"action_id": "rate_5", "value": buttons["rate_5"],
                                   "type": "button"}).status_code == 200
    _wait_scores(running, ref, [5])
    thanks = running.fake.wait_for("chat.postEphemeral", user=CLIENT)[0]
    assert f"your rating of {ref}, 5 of 5, is recorded" in thanks.params["text"]
    rated = running.app.helpdesk.show(ref).ticket.rating
    assert rated is not None and rated.actor == f"slack:{CLIENT}"
    assert rated.data == {"score": 5, "channel": "slack"}

    # changed a minute later: the new score is the answer
    running.action(CLIENT, {"action_id": "rate_3", "value": buttons["rate_3"], "type": "button"})
    _wait_scores(running, ref, [5, 3])
    # a forged value on the button of another ticket changes nothing
    running.action(CLIENT, {"action_id": "rate_1", "value": "999999:1", "type": "button"})
    eph = running.fake.wait_for("chat.postEphemeral", user=CLIENT, count=3)[-1]
    assert "no ticket" in eph.params["text"]
    assert _scores(running, ref) == [5, 3]
