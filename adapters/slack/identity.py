"""Who the bot is in Slack (``auth.test``), asked on first need and cached."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient


@dataclass(frozen=True)
class Identity:
    user_id: str
    bot_id: str
    team_id: str = ""


class SlackIdentity:
    """Who the bot is in Slack, from ``auth.test`` on first need (never at start)."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._identity: Identity | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> Identity:
        if self._identity is None:
            async with self._lock:
                if self._identity is None:
                    r = await self.client.auth_test()
                    self._identity = Identity(str(r.get("user_id", "")), str(r.get("bot_id", "")),
                                              str(r.get("team_id", "")))
        return self._identity


__all__ = ["Identity", "SlackIdentity"]
