"""Mail intake: parse raw mail bytes, tell automatic mail apart, strip quoted history, thread.

Pure functions over bytes and text (stdlib ``email`` only): no network, no clock.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.mail.errors import Unparseable
    from bot.mail.loops import detect_auto
    from bot.mail.model import DEFAULT_LIMITS, Attachment, AutoReply, Limits, ParsedMail
    from bot.mail.parse import parse_message
    from bot.mail.quotes import strip_quoted
    from bot.mail.threading import reference_tokens, thread_keys

_HOME = {
    "Unparseable": "errors", "detect_auto": "loops", "DEFAULT_LIMITS": "model",
    "Attachment": "model", "AutoReply": "model", "Limits": "model", "ParsedMail": "model",
    "parse_message": "parse", "strip_quoted": "quotes", "reference_tokens": "threading",
    "thread_keys": "threading",
}
"""Name -> its module: imported on first use, so ``bot.mail.mbox`` (the MTA pipe) does not load
the parser, loop detection and quote stripping."""


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(f"bot.mail.{_HOME[name]}"), name)
    raise AttributeError(f"module 'bot.mail' has no attribute {name!r}")


__all__ = [
    "DEFAULT_LIMITS",
    "Attachment",
    "AutoReply",
    "Limits",
    "ParsedMail",
    "Unparseable",
    "detect_auto",
    "parse_message",
    "reference_tokens",
    "strip_quoted",
    "thread_keys",
]
