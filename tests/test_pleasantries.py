"""The pleasantry rule (``bot.pleasantries``): courtesy and emoji only, in a few languages, with
at most a closing and a name or signature; anything that says something is not one."""

from __future__ import annotations

import pytest

from bot.pleasantries import MAX_WORDS, is_pleasantry


@pytest.mark.parametrize("text", [
    "thanks!", "Thank you", "thx", "ty", "ok", "OK 👍", "okay.", "👍", "👍🏽", "🙏🙏", "❤️",
    ":+1:", ":pray: :tada:", "Thanks a lot for the quick reply 🙏", "sounds good", "great, thanks",
    "perfect, works now", "@alice thanks", "<@U123> ty", "hi", "Good morning",
    "merci beaucoup !", "Super, merci", "parfait", "Dank je wel!", "bedankt", "top, bedankt",
    "danke schön", "vielen Dank", "gracias", "grazie mille",
    "Thanks!\n\nJo Smith", "Thank you, perfect.\n\nBest regards,\nJo",
    "Thanks!\n-- \nJo Smith\nAcme Corp\n+32 16 12 34 56",
])
def test_pleasantries(text: str) -> None:
    assert is_pleasantry(text)


@pytest.mark.parametrize("text", [
    "", "   ", "?", "???", "!", "yes", "no", "ok, error 500 again", "the site is down",
    "thanks, but it still fails", "thanks! also the invoice page is blank",
    "ok so when will it be fixed", "Thanks! It happens again on\nPage Two",
    "thanks for T-1001", "ok 14:00 works", "merci, mais ça ne marche toujours pas",
    "bedankt, maar het werkt nog steeds niet",
    " ".join(["thanks"] * (MAX_WORDS + 1)),
])
def test_not_pleasantries(text: str) -> None:
    assert not is_pleasantry(text)
