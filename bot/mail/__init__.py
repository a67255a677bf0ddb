"""Mail intake: parse raw mail bytes, tell automatic mail apart, strip quoted history, thread.

Pure functions over bytes and text (stdlib ``email`` only): no network, no clock.
"""

from bot.mail.errors import Unparseable
from bot.mail.loops import detect_auto
from bot.mail.model import DEFAULT_LIMITS, Attachment, AutoReply, Limits, ParsedMail
from bot.mail.parse import parse_message
from bot.mail.quotes import strip_quoted
from bot.mail.threading import reference_tokens, thread_keys

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
