"""Slack's message text, both ways.

Slack escapes ``&``, ``<`` and ``>`` as entities in the text it delivers, and marks mentions,
channels and links up as ``<...>``: ``decode`` turns that into what the person typed, readable
in a subject, a mail or a report. ``escape`` does the reverse for text the bot posts: only those
three characters, once, so client text can neither ping a channel nor forge a mention or a link.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_ENTITY = re.compile(r"&(amp|lt|gt);")
_CHARS = {"amp": "&", "lt": "<", "gt": ">"}
_MARKUP = re.compile(r"<([^<>]*)>")
_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")
_SPECIAL = {"channel": "@channel", "here": "@here", "everyone": "@everyone"}


def unescape(text: str) -> str:
    """Slack's three entities back to characters, in one pass (``&amp;lt;`` is ``&lt;``)."""
    return _ENTITY.sub(lambda m: _CHARS[m.group(1)], text)


def escape(text: str) -> str:
    """Literal text for Slack: ``&``, ``<`` and ``>`` as entities, nothing else."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mentioned_users(text: str) -> list[str]:
    """The user ids mentioned as ``<@U…>`` in Slack's text, each once, in order."""
    return list(dict.fromkeys(_USER.findall(text)))


def decode(text: str, names: Mapping[str, str] | None = None) -> str:
    """Slack's text as readable plain text: ``<@U1>`` is ``@name`` (from ``names``, a user id
    to display name map, else ``@U1``), ``<#C1|general>`` is ``#general``, ``<!here>`` is
    ``@here``, ``<http://x|y>`` is ``y (http://x)``, and the entities are characters again."""
    names = names or {}

    def one(m: re.Match[str]) -> str:
        target, _, label = m.group(1).partition("|")
        label = unescape(label)
        if target.startswith("@"):
            user = target[1:]
            return "@" + (names.get(user) or label.removeprefix("@") or user)
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            word = target[1:]
            if word in _SPECIAL:
                return _SPECIAL[word]
            if word.startswith("subteam^"):
                return label or "@" + word.removeprefix("subteam^")
            return label or word  # <!date^...|fallback> and kinds added later
        url = unescape(target)
        if not label or label in (url, url.removeprefix("mailto:"),
                                  re.sub(r"^https?://", "", url)):
            return url.removeprefix("mailto:") if url.startswith("mailto:") else url
        return f"{label} ({url})"

    # markup and plain text apart: an escaped "&lt;b&gt;" is text, never markup
    parts: list[str] = []
    last = 0
    for m in _MARKUP.finditer(text):
        parts += [unescape(text[last:m.start()]), one(m)]
        last = m.end()
    parts.append(unescape(text[last:]))
    return "".join(parts)
