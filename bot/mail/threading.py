"""Which ticket a mail belongs to: ``[T-1042]`` subject tokens and Message-ID thread keys."""

from __future__ import annotations

import re
from typing import Protocol

from bot.model import id_of_reference, reference_of

REFERENCE_TOKEN = re.compile(r"\[(T-\d{1,12})\]", re.I)
MAX_THREAD_KEYS = 50


class _Threaded(Protocol):
    @property
    def in_reply_to(self) -> tuple[str, ...]: ...

    @property
    def references(self) -> tuple[str, ...]: ...


def reference_tokens(subject: str) -> tuple[str, ...]:
    """Ticket references in bracketed ``[T-1042]`` tokens (any case), canonical, in order.

    Tokens that cannot name a ticket (``[T-0042]``) are ignored.
    """
    found: list[str] = []
    for match in REFERENCE_TOKEN.finditer(subject or ""):
        try:
            reference = reference_of(id_of_reference(match.group(1)))
        except ValueError:
            continue
        if reference not in found:
            found.append(reference)
    return tuple(found)


def thread_keys(parsed: _Threaded) -> tuple[str, ...]:
    """Message-IDs this mail answers: In-Reply-To, then References, deduplicated, at most 50.

    When there are more, the In-Reply-To ids, the thread root (first reference) and the most
    recent references are kept, in their original order.
    """
    keys = list(dict.fromkeys([*parsed.in_reply_to, *parsed.references]))
    if len(keys) <= MAX_THREAD_KEYS:
        return tuple(keys)
    replied = [k for k in keys if k in parsed.in_reply_to][:MAX_THREAD_KEYS]
    refs = [k for k in keys if k not in replied]
    room = MAX_THREAD_KEYS - len(replied)
    if room <= 0:
        return tuple(replied)
    kept_refs = refs[:1] + (refs[-(room - 1) :] if room > 1 else [])
    return tuple(replied + kept_refs)
