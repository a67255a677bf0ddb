"""Slack as a web component: the bolt app (Events API, interactivity, ``/ticket``) on the web
app's routes in HTTP mode, or over Socket Mode; the event processor and the sender loops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from adapters.bootstrap import App
from adapters.slack.commands import SlackCommands
from adapters.slack.intake import SlackIdentity, SlackIntake
from adapters.slack.rating import ACTION as RATE_ACTION
from adapters.slack.rating import SlackRating
from adapters.slack.sender import SlackSender, api_problem
from adapters.slack.socket import SocketLink
from adapters.slack.text import decode
from adapters.web.component import Health
from bot.errors import SupportbotError

log = logging.getLogger("supportbot.slack")


class SlackComponent:
    name = "slack"

    def __init__(self, app: App, *, sender_interval: float = 2.0, probe_seconds: float = 30.0,
                 socket_grace: float = 30.0) -> None:
        s = app.settings.slack
        self.app = app
        self.mode = s.mode
        token = s.bot_token.get_secret_value()
        self.client = AsyncWebClient(token=token, base_url=s.base_url)
        self.identity = SlackIdentity(self.client)
        self.sender = SlackSender(app.uow, app.clock, self.client, app.helpdesk,
                                  interval=sender_interval)
        self.intake = SlackIntake(app.helpdesk, app.uow, app.clock, self.client, self.identity,
                                  reaction=s.ticket_reaction, on_queued=self.sender.wake,
                                  phone_number=app.settings.mail.phone_number,
                                  support_address=app.settings.mail.support_addresses[0])
        self.commands = SlackCommands(app.helpdesk, app.uow.reader)
        self.rating = SlackRating(app.helpdesk, app.settings.client_links.rating_days)
        app.slack_queued.connect(self.sender.wake)  # called by the root's SlackNotifier
        self.bolt = self._bolt(token, s.signing_secret.get_secret_value())
        self.handler = AsyncSlackRequestHandler(self.bolt)
        self.probe_seconds = probe_seconds
        """Without a Web API call for this long (or after a failure), ``auth.test`` is called,
        so ``/healthz`` knows whether Slack can be reached when nothing is being sent."""
        self.socket: SocketLink | None = None
        if self.mode == "socket":
            self.socket = SocketLink(self.bolt, s.app_token.get_secret_value(),
                                     self.client.base_url, grace=socket_grace)
        self._tasks: list[asyncio.Task[None]] = []
        self.acknowledged: Callable[[str, float], None] | None = None
        """Told of each HTTP request answered: the route (``events``, ``commands``,
        ``interactivity``) and the seconds from received to answered (``supportbot run``
        observes them into ``/metrics``)."""

    # -- bolt -------------------------------------------------------------------------------

    def _bolt(self, token: str, signing_secret: str) -> AsyncApp:
        identity = self.identity

        async def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
            me = await identity.get()  # auth.test on first use, then cached
            return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id,
                                   bot_token=token, bot_user_id=me.user_id, bot_id=me.bot_id)

        bolt = AsyncApp(client=self.client, signing_secret=signing_secret or None,
                        authorize=authorize, request_verification_enabled=self.mode == "http",
                        raise_error_for_unhandled_request=False)
        intake, commands = self.intake, self.commands

        async def store_first(body: dict[str, Any], next: Any) -> BoltResponse | None:
            """Events are stored (committed) before Slack hears 200, and processed later."""
            if body.get("type") != "event_callback":
                return await next()  # type: ignore[no-any-return]
            _row, new = await asyncio.to_thread(intake.accept, body)
            if new:
                intake.wake()
            return BoltResponse(status=200, body="")

        bolt.middleware(store_first)

        @bolt.command("/ticket")
        async def on_ticket(ack: Any, command: dict[str, Any]) -> None:
            try:
                text = await asyncio.to_thread(commands.command, command.get("user_id", ""),
                                               command.get("channel_id", ""),
                                               decode(command.get("text", "")))
            except SupportbotError as e:
                text = f":warning: {e}"
            await ack(response_type="ephemeral", text=text)

        @bolt.action(re.compile(r"^ticket_"))
        async def on_action(ack: Any, body: dict[str, Any], action: dict[str, Any],
                            client: AsyncWebClient) -> None:
            await ack()
            user = (body.get("user") or {}).get("id", "")
            channel = (body.get("channel") or {}).get("id", "")
            try:
                await asyncio.to_thread(commands.button, user, action)
            except (SupportbotError, ValueError) as e:
                await client.chat_postEphemeral(channel=channel, user=user, text=f":warning: {e}")

        rating = self.rating

        @bolt.action(re.compile(RATE_ACTION))
        async def on_rating(ack: Any, body: dict[str, Any], action: dict[str, Any],
                            client: AsyncWebClient) -> None:
            await ack()
            user = (body.get("user") or {}).get("id", "")
            channel = (body.get("channel") or {}).get("id", "")
            try:
                text = await asyncio.to_thread(rating.press, user, action)
            except SupportbotError as e:
                text = f":warning: {e}"
            await client.chat_postEphemeral(channel=channel, user=user, text=text)

        return bolt

    # -- WebComponent -----------------------------------------------------------------------

    def routes(self) -> Sequence[BaseRoute]:
        if self.mode != "http":
            return []

        async def endpoint(request: Request) -> Response:
            started = time.perf_counter()
            response = await self.handler.handle(request)  # returns once Bolt acknowledged
            if self.acknowledged is not None:
                self.acknowledged(request.url.path.rsplit("/", 1)[-1],
                                  time.perf_counter() - started)
            return response

        return [Route(path, endpoint, methods=["POST"])
                for path in ("/slack/events", "/slack/interactivity", "/slack/commands")]

    def health(self) -> Health:
        """Down when a loop stopped, the Web API cannot be used (failed calls in a row) or
        the Socket Mode websocket is not there; degraded on a failure or a reconnect."""
        if not self._tasks:
            return Health(False, "not started")
        dead = [t.get_name() for t in self._tasks if t.done()]
        if dead:
            return Health(False, f"stopped: {', '.join(dead)}")
        health = Health(True, f"{self.mode} mode") & self.sender.reach.health()
        return health & self.socket.health() if self.socket is not None else health

    async def _probe(self) -> None:
        reach = self.sender.reach
        while True:
            quiet = reach.quiet_for()
            if quiet is None or quiet >= self.probe_seconds or reach.failures:
                try:
                    await self.client.auth_test()
                except (SlackApiError, OSError, TimeoutError, ValueError) as e:
                    problem = api_problem(e)
                    reach.failed(problem) if problem else reach.succeeded()
                else:
                    reach.succeeded()
            await asyncio.sleep(self.probe_seconds)

    def metrics(self) -> Iterable[Metric]:
        with self.app.uow.reader() as uow:
            events, jobs = uow.slack.count_events(), uow.slack.count_jobs()
        g = GaugeMetricFamily("supportbot_slack_events",
                              "Slack events received, by processing state.", labels=["state"])
        for state in sorted({"pending", "done", "ignored", "failed", *events}):
            g.add_metric([state], events.get(state, 0))
        yield g
        g = GaugeMetricFamily("supportbot_slack_outbox", "Slack Web API work, by state.",
                              labels=["state"])
        for state in sorted({"pending", "sending", "sent", "failed", *jobs}):
            g.add_metric([state], jobs.get(state, 0))
        yield g

    async def start(self) -> None:
        """Starts the loops and returns at once: the Socket Mode websocket connects in the
        background (retried with backoff), so Slack being down never holds the bot up."""
        self._tasks = [asyncio.create_task(self.intake.run(), name="slack-intake"),
                       asyncio.create_task(self.sender.run(), name="slack-sender"),
                       asyncio.create_task(self._probe(), name="slack-probe")]
        if self.socket is not None:
            self._tasks.append(asyncio.create_task(self.socket.run(), name="slack-socket"))
        log.info("slack started", extra={"mode": self.mode})

    async def stop(self) -> None:
        if self.socket is not None:
            await self.socket.close()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks = []
