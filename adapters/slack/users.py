"""Display names of Slack users, for readable text: staff from the settings, others from
``users.info`` (cached; without the ``users:read`` scope or on an error, the id stays); and
their profile's mail address (``users:read.email``), to know a client's contact."""

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
        self._profiles: dict[str, tuple[str | None, str | None]] = {}
        """user id -> (name, mail address); (None, None): Slack knows no such user."""

    async def names(self, users: Iterable[str]) -> dict[str, str]:
        """user id -> display name, for those Slack names; unknown ones are left out."""
        found: dict[str, str] = {}
        for user in users:
            name = (await self._profile(user))[0]
            if name is not None:
                found[user] = name
        return found

    async def email(self, user: str) -> str | None:
        """The mail address of the user's Slack profile, when Slack gives it."""
        return (await self._profile(user))[1]

    async def _profile(self, user: str) -> tuple[str | None, str | None]:
        if user not in self._profiles:
            try:
                found = await self._lookup(user)
            except (SlackApiError, OSError, TimeoutError) as e:  # asked again next time
                log.info("no profile for a Slack user", extra={"user": user, "error": str(e)})
                return None, None
            if len(self._profiles) >= CACHE_LIMIT:
                self._profiles.clear()
            self._profiles[user] = found
        return self._profiles[user]

    async def _lookup(self, user: str) -> tuple[str | None, str | None]:
        try:
            r = await self.client.users_info(user=user)
        except SlackApiError as e:
            if e.response is not None and e.response.get("error") == "user_not_found":
                return None, None
            raise
        u = r.get("user") or {}
        profile = u.get("profile") or {}
        name = profile.get("display_name") or profile.get("real_name") or u.get("real_name") \
            or u.get("name")
        email = profile.get("email")
        return (str(name) if name else None), (str(email) if email else None)
