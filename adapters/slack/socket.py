"""Slack's Socket Mode websocket, connected in the background.

The bot never waits for Slack at start: ``run`` (a task) asks for a websocket URL
(``apps.connections.open`` with the app token) and connects, retrying with backoff while Slack
is unreachable or refuses the token, and then watches the connection (``slack_sdk`` reconnects a
lost one by itself). ``health`` says which of these it is in, with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.web.component import Health

log = logging.getLogger("supportbot.slack.socket")

BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
"""Seconds before each further connection attempt; the last one repeats."""
CONNECT_TIMEOUT = 20.0
"""Seconds one attempt (the URL, then the websocket) may take."""


class SocketLink:
    def __init__(self, bolt: AsyncApp, app_token: str, base_url: str, *,
                 backoff: tuple[float, ...] = BACKOFF, grace: float = 30.0,
                 watch_every: float = 1.0) -> None:
        self.bolt = bolt
        self.app_token = app_token
        self.base_url = base_url
        self.backoff = backoff
        self.grace = grace
        """A websocket lost for less than this is degraded (reconnecting), longer is down."""
        self.watch_every = watch_every
        self.handler: Any = None
        self.attempts = 0
        self.connected = False
        self.ever_connected = False
        self.reason = "connecting"
        self.lost_at: float | None = None

    async def run(self) -> None:
        """Connect (with backoff), then watch the connection; until cancelled."""
        self.handler = AsyncSocketModeHandler(
            self.bolt, self.app_token,
            web_client=AsyncWebClient(token=self.app_token, base_url=self.base_url))
        await self._connect()
        while True:
            await self._watch()
            await asyncio.sleep(self.watch_every)

    async def _connect(self) -> None:
        client = self.handler.client
        while True:
            self.attempts += 1
            try:
                client.wss_uri = await asyncio.wait_for(client.issue_new_wss_url(),
                                                        CONNECT_TIMEOUT)
                await asyncio.wait_for(client.connect(), CONNECT_TIMEOUT)
            except SlackApiError as e:
                code = str(e.response.get("error", "")) if e.response is not None else ""
                reason = f"Slack refused apps.connections.open: {code or e}"
            except (OSError, TimeoutError) as e:  # aiohttp's connection errors are OSErrors
                reason = f"cannot reach Slack ({type(e).__name__})"
            else:
                self.connected = self.ever_connected = True
                self.lost_at = None
                log.info("slack socket mode connected", extra={"attempt": self.attempts})
                return
            client.wss_uri = None
            wait = self.backoff[min(self.attempts, len(self.backoff)) - 1]
            self.reason = f"{reason} (attempt {self.attempts}, next in {wait:g}s)"
            log.warning("slack socket mode not connected",
                        extra={"reason": reason, "attempt": self.attempts, "retry_in": wait})
            await asyncio.sleep(wait)

    async def _watch(self) -> None:
        now = await self.handler.client.is_connected()
        if now and not self.connected:
            log.info("slack socket mode reconnected")
            self.lost_at = None
        elif not now and self.connected:
            log.warning("slack socket mode websocket lost; reconnecting")
            self.lost_at = time.monotonic()
        self.connected = now

    def health(self) -> Health:
        if self.connected:
            return Health(True, "socket mode connected")
        if not self.ever_connected:
            return Health(False, f"socket mode not connected: {self.reason}")
        lost = time.monotonic() - (self.lost_at or time.monotonic())
        if lost < self.grace:
            return Health(True, f"socket mode websocket lost {lost:.0f}s ago; reconnecting",
                          degraded=True)
        return Health(False, f"socket mode websocket lost {lost:.0f}s ago; not reconnected")

    async def close(self) -> None:
        if self.handler is not None:
            with contextlib.suppress(Exception):
                await self.handler.close_async()
