"""Client satisfaction: the resolution mail's signed rating links (confirm page on GET, vote on
POST), one answer per ticket changeable for a week, the ``rated`` event, and the report's
figures, computed here independently from the same answers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from adapters.storage import Database
from bot.errors import InvalidAction
from bot.model import EventKind
from bot.reports import render
from bot.reports.ratings import period_ratings
from bot.ticket import Ticket
from tests.clientweb import WebBot, links_in, web_bot
from tests.mailbot import mail
from tests.mailpeers import LoopThread
from tests.tickets import new_ticket

REQUESTER = "anna@acme.example"


@pytest.fixture
def wb(database: Database, loop: LoopThread) -> Iterator[WebBot]:
    yield from web_bot(database, loop)


def _resolved(wb: WebBot, subject: str = "Export fails") -> tuple[str, dict[int, str]]:
    """A mailed-in ticket, resolved by staff: (reference, score -> rating link path)."""
    outcome, _ack = wb.bot.roundtrip(mail(REQUESTER, subject, "The CSV export times out."))
    assert outcome.reference
    wb.bot.app.helpdesk.resolve(outcome.reference, actor="alice", note="index added")
    (notice,) = wb.bot.deliver()
    assert "We consider" in notice.get_body(("plain",)).get_content()
    urls = links_in(notice)
    assert len(urls) == 5
    paths = {int(u.rsplit("/", 1)[1]): u.removeprefix(wb.base) for u in urls}
    assert sorted(paths) == [1, 2, 3, 4, 5]
    return outcome.reference, paths


def _ratings(wb: WebBot, ref: str) -> list[int]:
    t = wb.bot.app.helpdesk.show(ref).ticket
    return [e.data["score"] for e in t.events if e.kind == EventKind.RATED]


def _key(page: str) -> str:
    (key,) = re.findall(r'name="form_key" value="([^"]+)"', page)
    return key


def test_opening_a_link_asks_and_only_confirming_records(wb: WebBot) -> None:
    ref, paths = _resolved(wb)
    with wb.browser() as scanner:  # a mail scanner opens every link
        for path in paths.values():
            assert scanner.get(path).status_code == 200
    assert _ratings(wb, ref) == [], "opening a link voted"
    with wb.browser() as b:
        page = b.get(paths[4]).text
        assert "Confirm 4 of 5" in page
        assert b.post(paths[4], data={}).status_code == 403
        done = b.post(paths[4], data={"form_key": _key(page)})
    assert done.status_code == 200 and "your rating of 4 of 5 is recorded" in done.text
    assert "You can change it until" in done.text
    t = wb.bot.app.helpdesk.show(ref).ticket
    rated = t.rating
    assert rated is not None and rated.data == {"score": 4, "channel": "mail"}
    assert rated.actor == f"client:{REQUESTER}"


def test_one_answer_per_ticket_changeable_for_a_week(wb: WebBot) -> None:
    ref, paths = _resolved(wb)
    with wb.browser() as b:
        b.post(paths[4], data={"form_key": _key(b.get(paths[4]).text)})
        again = b.post(paths[4], data={"form_key": _key(b.get(paths[4]).text)})
        assert again.status_code == 200
        wb.bot.clock.advance(timedelta(days=3))
        page = b.get(paths[2]).text
        assert "Your current rating is 4 of 5" in page
        assert b.post(paths[2], data={"form_key": _key(page)}).status_code == 200
        wb.bot.clock.advance(timedelta(days=4, hours=1))  # a week and an hour after the first
        late = b.post(paths[5], data={"form_key": _key(b.get(paths[5]).text)})
    assert late.status_code == 409 and "can be changed for 7 days only" in late.text
    assert _ratings(wb, ref) == [4, 2], "the same score twice is one answer; late ones none"
    t = wb.bot.app.helpdesk.show(ref).ticket
    assert t.rating is not None and t.rating.data["previous"] == 4


def test_rating_links_expire_and_are_no_status_links(wb: WebBot) -> None:
    ref, paths = _resolved(wb)
    token = paths[3].split("/")[2]
    with wb.browser() as b:
        assert b.get(f"/status/{token}").status_code == 404
        assert b.get(f"/rate/{token}/6").status_code == 404
        assert b.get(f"/rate/{token}/0").status_code == 404
        wb.bot.clock.advance(timedelta(days=30, minutes=1))  # client_links.rating_days = 30
        assert b.get(paths[3]).status_code == 404
        assert b.post(paths[3], data={"form_key": "x"}).status_code == 404
    assert _ratings(wb, ref) == []


def test_the_report_shows_the_periods_ratings(wb: WebBot) -> None:
    given = {"Export fails": 5, "Login slow": 4, "Typo on invoice": 5, "Unrated": None}
    refs = {}
    for subject, score in given.items():
        ref, paths = _resolved(wb, subject)
        refs[subject] = ref
        if score is not None:
            with wb.browser() as b:
                b.post(paths[score], data={"form_key": _key(b.get(paths[score]).text)})
    with wb.browser() as b:  # one client changes their mind: the last answer counts
        path = f"/rate/{_token_of(wb, refs['Login slow'])}/2"
        b.post(path, data={"form_key": _key(b.get(path).text)})
    report = wb.bot.app.reporting.report("acme", "current")
    scores = [5, 2, 5]
    assert report.ratings.count == 3
    assert str(report.ratings.average) == f"{sum(scores) / len(scores):.1f}"  # 4.0
    assert report.ratings.distribution == {5: 2, 4: 0, 3: 0, 2: 1, 1: 0}
    md = render(report, "md")
    assert "## Client satisfaction" in md
    assert "- 3 ratings, average 4.0 of 5 (5: 2, 4: 0, 3: 0, 2: 1, 1: 0)" in md
    assert "<h2>Client satisfaction</h2><p>3 ratings, average 4.0 of 5" in render(report,
                                                                                   "html")
    assert '"satisfaction"' in render(report, "json")


def _token_of(wb: WebBot, ref: str) -> str:
    t = wb.bot.app.helpdesk.show(ref).ticket
    resolved = t.last(EventKind.RESOLVED)
    assert resolved is not None and wb.bot.app.links is not None and t.id is not None
    return wb.bot.app.links.rating_token(t.id, resolved.at)


# -- the rule, on the aggregate --------------------------------------------------------------

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _ticket() -> Ticket:
    t = new_ticket(at=NOW)
    t.id = 7
    return t


def test_only_a_resolved_ticket_is_rated_and_only_one_to_five() -> None:
    t = _ticket()
    with pytest.raises(InvalidAction, match="never resolved"):
        t.rate(5, actor="client", now=NOW, channel="mail")
    t.resolve(actor="alice", now=NOW)
    for bad in (0, 6):
        with pytest.raises(InvalidAction, match="1 to 5"):
            t.rate(bad, actor="client", now=NOW, channel="mail")
    assert t.rate(3, actor="client", now=NOW, channel="slack") is True
    assert t.rate(3, actor="client", now=NOW + timedelta(hours=1), channel="mail") is False
    assert [e.data["score"] for e in t.events if e.kind == EventKind.RATED] == [3]


def test_the_period_counts_the_last_rating_given_in_it() -> None:
    t = _ticket()
    t.resolve(actor="alice", now=NOW)
    t.rate(2, actor="client", now=NOW + timedelta(days=1), channel="mail")
    t.rate(5, actor="client", now=NOW + timedelta(days=6), channel="mail")
    early = period_ratings([t], NOW, NOW + timedelta(days=3))
    late = period_ratings([t], NOW + timedelta(days=5), NOW + timedelta(days=30))
    assert early.by_ticket == ((t.reference, 2),) and late.by_ticket == ((t.reference, 5),)
    assert period_ratings([t], NOW + timedelta(days=7), NOW + timedelta(days=9)).count == 0
