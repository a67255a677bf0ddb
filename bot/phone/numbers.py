"""Phone numbers in E.164 (``+3216123456``): the one form numbers are stored and compared in."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.model import Client

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def e164(number: str) -> str:
    """``number`` in E.164; ValueError if it is not an international number.

    Spaces, dots, dashes and brackets go, ``00`` becomes ``+`` and a bracketed trunk ``(0)``
    (``+32 (0)16 ...``, never dialled from abroad) is dropped.
    """
    if not isinstance(number, str):
        raise ValueError(f"expected a phone number string (got {number!r})")
    compact = re.sub(r"\(0\)", "", number)
    compact = re.sub(r"[\s().-]", "", compact)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not _E164.match(compact):
        raise ValueError(f"{number!r} is not an international phone number "
                         "(E.164, e.g. +3216123456)")
    return compact


def try_e164(number: str | None) -> str | None:
    """``e164(number)``, or None for anything that is not a usable number (a withheld caller
    id arrives as ``anonymous`` or empty)."""
    try:
        return e164(number or "")
    except ValueError:
        return None


def client_for_number(clients: Iterable[Client], number: str | None) -> Client | None:
    """The client with ``number`` among its contact phones (first by name if several do)."""
    caller = try_e164(number)
    if caller is None:
        return None
    for c in sorted(clients, key=lambda c: c.name):
        if caller in (try_e164(p) for p in c.phones):
            return c
    return None
