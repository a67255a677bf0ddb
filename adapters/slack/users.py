"""Display names of Slack users, for readable text: staff from the settings, others from
``users.info`` (cached; without the ``users:read`` scope or on an error, the id stays)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger("supportbot.slack")

CACHE_LIMIT = 5000


class SlackUsers:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._names: dict[str, str | None] = {}
        """user id -> name; None: Slack knows no such user (not asked again)."""

    async def names(self, users: Iterable[str]) -> dict[str, str]:
        """user id -> display name, for those Slack names; unknown ones are left out."""
        found: dict[str, str] = {}
        for user in users:
            if user not in self._names:
                try:
                    name = await self._lookup(user)
                except (SlackApiError, OSError, TimeoutError) as e:  # asked again next time
                    log.info("no name for a Slack user", extra={"user": user, "error": str(e)})
                    continue
                if len(self._names) >= CACHE_LIMIT:
                    self._names.clear()
                self._names[user] = name
            name = self._names[user]
            if name is not None:
                found[user] = name
        return found

    async def _lookup(self, user: str) -> str | None:
        try:
            r = await self.client.users_info(user=user)
        except SlackApiError as e:
            if e.response is not None and e.response.get("error") == "user_not_found":
                return None
            raise
        u = r.get("user") or {}
        profile = u.get("profile") or {}
        name = profile.get("display_name") or profile.get("real_name") or u.get("real_name") \
            or u.get("name")
        return str(name) if name else None
