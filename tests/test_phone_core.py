"""The pure phone core: numbers, the status state machine, the paging plan, follow-up timing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.model import Client
from bot.phone.numbers import client_for_number, e164, try_e164
from bot.phone.paging import (
    AttemptState,
    Call,
    Exhausted,
    OnCall,
    Shift,
    Wait,
    next_step,
    shift_start,
    spell_reference,
)
from bot.phone.status import advance

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("raw,want", [("+32 (0)16 12 34 56", "+3216123456"),
                                      ("0032 16.12.34.56", "+3216123456"),
                                      ("+1-555-010-9999", "+15550109999")])
def test_numbers_become_e164(raw: str, want: str) -> None:
    assert e164(raw) == want


@pytest.mark.parametrize("raw", ["016 12 34 56", "anonymous", "", "+0123456789"])
def test_non_international_numbers_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match=r"E\.164"):
        e164(raw)
    assert try_e164(raw) is None


def test_caller_matched_to_client_by_any_spelling() -> None:
    acme = Client("acme", "panenco", phones=("+32 16 12 34 56",), id=1)
    other = Client("zeta", "panenco", phones=("+3216999999",), id=2)
    assert client_for_number([other, acme], "0032 16 123 456") == acme
    assert client_for_number([acme, other], "+3216000000") is None
    assert client_for_number([acme], "anonymous") is None


def test_call_status_only_moves_forward() -> None:
    assert advance("call", None, "ringing") == "ringing"
    assert advance("call", "ringing", "initiated") is None  # late
    assert advance("call", "ringing", "ringing") is None  # duplicate
    assert advance("call", "ringing", "completed") == "completed"
    assert advance("call", "completed", "no-answer") is None  # final stays final
    assert advance("call", "in-progress", "busy") == "busy"
    with pytest.raises(ValueError, match="unknown call status"):
        advance("call", None, "exploded")


def test_sms_status_only_moves_forward() -> None:
    assert advance("sms", "queued", "sent") == "sent"
    assert advance("sms", "delivered", "sent") is None
    assert advance("sms", "delivered", "read") == "read"
    assert advance("sms", "failed", "delivered") is None


def test_shift_start_parses_and_refuses() -> None:
    assert shift_start("Fri 18:30") == (4, datetime(2026, 1, 1, 18, 30).time())
    with pytest.raises(ValueError, match="mon 09:00"):
        shift_start("friday 6pm")


def test_rota_picks_the_shift_on_now_and_wraps_the_week() -> None:
    rota = (Shift(0, shift_start("mon 09:00")[1], ("+3211111111",)),
            Shift(4, shift_start("fri 18:00")[1], ("+3222222222",)))
    oc = OnCall(rota=rota, timezone="Europe/Brussels")
    monday_10 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 in Brussels
    assert oc.numbers_at(monday_10) == ("+3211111111",)
    assert oc.numbers_at(datetime(2026, 11, 28, 12, tzinfo=UTC)) == ("+3222222222",)  # Sat
    assert oc.numbers_at(datetime(2026, 11, 23, 7, 30, tzinfo=UTC)) == ("+3222222222",)


def test_paging_walks_every_number_then_is_exhausted() -> None:
    oc = OnCall(interval=timedelta(minutes=5), attempts_per_number=2,
                answer_timeout=timedelta(minutes=3))
    numbers = ("+3211111111", "+3222222222")
    attempts: list[AttemptState] = []
    now = T0
    calls = []
    while True:
        step = next_step(numbers, attempts, oc, now)
        if isinstance(step, Exhausted):
            break
        if isinstance(step, Wait):
            assert step.until > now
            now = step.until
            continue
        assert isinstance(step, Call)
        calls.append((step.number, step.attempt))
        # nobody answers: a final status a minute later
        attempts.append(AttemptState(step.n, step.number, now, "no-answer",
                                     now + timedelta(minutes=1)))
    assert calls == [("+3211111111", 1), ("+3211111111", 2), ("+3222222222", 1),
                     ("+3222222222", 2)]
    assert step.attempts == 4
    assert now == T0 + 4 * timedelta(minutes=6)  # the last number had its interval too


def test_lost_status_callback_does_not_stop_paging() -> None:
    oc = OnCall(interval=timedelta(minutes=5), answer_timeout=timedelta(minutes=3))
    placed = [AttemptState(0, "+3211111111", T0, "ringing", T0)]
    assert next_step(("+3211111111",), placed, oc, T0 + timedelta(minutes=7)) == \
        Wait(T0 + timedelta(minutes=8))
    step = next_step(("+3211111111",), placed, oc, T0 + timedelta(minutes=8))
    assert isinstance(step, Call) and step.attempt == 2


def test_reference_is_read_digit_by_digit() -> None:
    assert spell_reference("T-1042") == "T 1 0 4 2"
