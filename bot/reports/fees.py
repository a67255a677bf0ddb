"""The period's fees (Support Policy, section 5): the hours logged at each priority times the
client's hourly rate for it, or the client's flat ``invoice_amount`` when it has no rates. Credits
are shares of this amount. Pure.

Each priority's amount is rounded to the cent (half up) before they are added, so the lines of
an invoice add up to its total.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from bot.model import Client
from bot.priority import Priority

CENT = Decimal("0.01")
HOURLY = "hourly"
FLAT = "flat"


@dataclass(frozen=True)
class FeeLine:
    """One priority's hours in the period and what they cost."""

    priority: Priority
    hours: Decimal
    rate: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Fees:
    billing: str  # hourly or flat
    lines: tuple[FeeLine, ...]  # hourly: one per priority; flat: none
    amount: Decimal  # the period's amount, to the cent


def money(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)


def period_fees(client: Client, hours: Mapping[Priority, Decimal]) -> Fees:
    """``client``'s fees for a period with ``hours`` logged per priority."""
    if not client.rates:
        return Fees(FLAT, (), money(client.invoice_amount))
    rates = dict(client.rates)
    lines = tuple(
        FeeLine(p, hours.get(p, Decimal(0)), Decimal(str(rates.get(p, 0))),
                money(hours.get(p, Decimal(0)) * Decimal(str(rates.get(p, 0)))))
        for p in Priority)
    return Fees(HOURLY, lines, sum((line.amount for line in lines), Decimal(0)))


def split_credit(amount: Decimal,
                 counts: Sequence[tuple[Priority, int]]) -> dict[Priority, Decimal]:
    """A credit of ``amount`` for breaches at several priorities, shared in proportion to each
    priority's count of charged breaches; the last takes the rounding so the shares add up."""
    total = sum(n for _, n in counts)
    out: dict[Priority, Decimal] = {}
    if not total:
        return out
    left = amount
    for i, (p, n) in enumerate(counts):
        share = left if i == len(counts) - 1 else money(amount * n / total)
        out[p] = out.get(p, Decimal(0)) + share
        left -= share
    return out
