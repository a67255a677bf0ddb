"""MAIL FROM:<>, the null reverse-path only delivery reports use (RFC 5321 4.5.5)."""

from __future__ import annotations

from dataclasses import replace

from bot.mail.context import MailContext, Outcome
from bot.mail.model import AutoReply

NAME = "null-sender"
DESCRIPTION = "Take SMTP mail with a null envelope sender for a bounce."


def run(ctx: MailContext) -> Outcome | None:
    mail, item = ctx.parsed, ctx.item
    if mail.auto is None and item is not None and item.channel == "smtp" and not item.mail_from:
        ctx.mail = replace(mail, auto=AutoReply("bounce", "null envelope sender (MAIL FROM:<>)"))
    return None
