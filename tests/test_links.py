"""Signed client links on their own (:mod:`bot.links`): pure, no server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.links import RATE, STATUS, ClientLinks

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
LINKS = ClientLinks(b"k" * 32, "https://bot.example.com/", status_days=90, rating_days=30)


def test_a_status_link_names_its_ticket_until_it_expires() -> None:
    url = LINKS.status_url(1042, NOW)
    assert url.startswith("https://bot.example.com/status/")
    token = url.rsplit("/", 1)[1]
    read = LINKS.read(token, STATUS, NOW + timedelta(days=89))
    assert read is not None and read.ticket_id == 1042
    assert read.expires == NOW + timedelta(days=90)
    assert LINKS.read(token, STATUS, NOW + timedelta(days=90)) is None  # expired at the instant
    assert LINKS.read(token, RATE, NOW) is None, "a status token is no rating token"


def test_another_secret_or_a_changed_byte_reads_as_nothing() -> None:
    token = LINKS.rating_token(7, NOW)
    other = ClientLinks(b"q" * 32, "https://bot.example.com")
    assert LINKS.read(token, RATE, NOW) is not None
    assert other.read(token, RATE, NOW) is None
    for i in range(len(token)):
        changed = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]
        assert LINKS.read(changed, RATE, NOW) is None, changed
    assert sorted(LINKS.rate_urls(7, NOW)) == [1, 2, 3, 4, 5]


def test_form_keys_bind_the_token_and_the_browser() -> None:
    key = LINKS.form_key("tok", "nonce-a")
    assert LINKS.form_key_ok("tok", "nonce-a", key)
    assert not LINKS.form_key_ok("tok", "nonce-b", key)
    assert not LINKS.form_key_ok("other", "nonce-a", key)
    assert not LINKS.form_key_ok("tok", "", key) and not LINKS.form_key_ok("tok", "nonce-a", "")


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        ClientLinks(b"short", "https://bot.example.com")
