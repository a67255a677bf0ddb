"""Slack's escaping decoded once on the way in and applied once on the way out: unit cases of
``adapters.slack.text``, and a report through the real web app, bolt and the fake Web API."""

from __future__ import annotations

import json

from adapters.slack.text import decode, escape, mentioned_users
from bot.model import EventKind
from tests.test_slack import (
    CLIENT,
    SUPPORT,
    TRIAGE,
    Running,
    report,
    running,  # noqa: F401  (the fixture)
)


def test_entities_decode_once_and_escape_once() -> None:
    assert decode("a &lt;b&gt; tag &amp; stuff") == "a <b> tag & stuff"
    assert decode("&amp;lt; is how you write &lt;") == "&lt; is how you write <"
    assert escape("a <b> tag & stuff") == "a &lt;b&gt; tag &amp; stuff"
    for text in ("a <b> tag & stuff", "&amp; &lt;", "<!channel> <@U1>", "x > y && z"):
        assert decode(escape(text)) == text


def test_mentions_channels_and_links_become_readable_text() -> None:
    names = {"U1": "alice"}
    assert decode("ping <@U1> and <@U2>", names) == "ping @alice and @U2"
    assert decode("old style <@U3|bob>") == "old style @bob"
    assert decode("see <#C123|general> and <#C456>") == "see #general and #C456"
    assert decode("<!here> <!channel> <!subteam^S1|@oncall>") == "@here @channel @oncall"
    assert decode("<!date^1392734382^{date}|Feb 18, 2014>") == "Feb 18, 2014"
    assert decode("read <http://x.example/a?b=1&amp;c=2|the docs> now") == \
        "read the docs (http://x.example/a?b=1&c=2) now"
    assert decode("<https://x.example>, <https://x.example|x.example>") == \
        "https://x.example, https://x.example"
    assert decode("mail <mailto:jo@acme.example|jo@acme.example>") == "mail jo@acme.example"
    assert decode("a link <http://x.example|Tom &amp; Jerry>") == \
        "a link Tom & Jerry (http://x.example)"
    assert mentioned_users("<@U1> <@W2|w> <@U1> <#C1>") == ["U1", "W2"]


def test_a_slack_report_is_stored_readable_and_posted_escaped_once(
        running: Running) -> None:  # noqa: F811
    running.fake.users["UBOB"] = {"id": "UBOB", "name": "bob",
                                  "profile": {"display_name": "Bob B"}}
    text = ("a &lt;b&gt; tag &amp; stuff for <@UALICE> and <@UBOB>\n"
            "in <#C9|ops>, see <https://status.example/x?a=1&amp;b=2|status page>")
    running.event(report(text=text), "EvTxt1")
    running.wait_processed(1)
    [v] = running.app.helpdesk.list()
    t = v.ticket
    assert t.subject == "a <b> tag & stuff for @alice and @Bob B"
    assert t.body == ("a <b> tag & stuff for @alice and @Bob B\nin #ops, see status "
                      "page (https://status.example/x?a=1&b=2)")
    post = running.fake.wait_for("chat.postMessage", channel=TRIAGE)[0]
    shown = json.dumps(post.params["blocks"]) + post.params["text"]
    assert "a &lt;b&gt; tag &amp; stuff" in shown
    assert "&amp;lt;" not in shown and "&amp;amp;" not in shown

    running.event({"type": "message", "channel": SUPPORT, "user": CLIENT,
                   "text": "also &lt;div&gt; &amp; <@UNOBODY>", "ts": "1790000100.000200",
                   "thread_ts": "1790000100.000100"}, "EvTxt2")
    running.wait_processed(2)
    t = running.app.helpdesk.show(t.reference).ticket
    [received] = [e for e in t.events if e.kind == EventKind.MESSAGE_RECEIVED]
    assert received.data["text"] == "also <div> & @UNOBODY"
    line = running.fake.wait_for("chat.postMessage", channel=TRIAGE, count=2)[1]
    assert "also &lt;div&gt; &amp; @UNOBODY" in line.params["text"]
    running.event({"type": "message", "channel": SUPPORT, "user": CLIENT,
                   "text": "<@UNOBODY> <@UBOB> again", "ts": "1790000100.000300",
                   "thread_ts": "1790000100.000100"}, "EvTxt3")
    running.wait_processed(3)
    t = running.app.helpdesk.show(t.reference).ticket
    last = [e for e in t.events if e.kind == EventKind.MESSAGE_RECEIVED][-1]
    assert last.data["text"] == "@UNOBODY @Bob B again"
    # alice is staff: her name comes from the settings, without asking users.info; others
    # are asked once (an unknown user too)
    assert [c.params["user"] for c in running.fake.called("users.info")] == ["UBOB", "UNOBODY"]
