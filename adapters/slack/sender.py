"""Delivering queued Slack work through the Web API, with retries and backoff.

The Slack kind of the one outbox (``adapters.outbox``): a job is claimed (pending -> sending,
committed) before the call, marked sent after Slack's answer, or put back with a later attempt
time. The triage post is rendered
from the ticket as it stands when it is sent, so one pending render carries every change
queued before it; the first render posts it, later ones update it in place (``chat.update``).
A triage post deleted in Slack is posted again (once per job) when an update or a thread line
finds it gone, and the new one is remembered (the ticket's newest triage message).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import Session

from adapters.outbox.delivery import Failure, Outbox, RetryPolicy
from adapters.slack.format import triage_blocks, triage_text
from adapters.slack.home import HOME, home_view
from adapters.storage import UnitOfWorks
from adapters.storage.outbox import OutboxItem
from adapters.storage.slack import KIND, SlackJob, SqlSlackRepository, job_of
from adapters.web.reach import Reachability
from bot.clock import Clock
from bot.model import reference_of
from bot.services import Helpdesk

log = logging.getLogger("supportbot.slack.sender")

BACKOFF = (5, 30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600)
"""Seconds before each retry; after the last one the job is marked failed."""
STALE_SENDING = timedelta(minutes=5)
POLICY = RetryPolicy(BACKOFF, STALE_SENDING)
PERMANENT = frozenset({"channel_not_found", "not_in_channel", "is_archived", "invalid_auth",
                       "account_inactive", "msg_too_long", "invalid_blocks", "no_text",
                       "cant_update_message", "message_not_found", "restricted_action"})
"""Web API errors that no retry will fix."""
GONE = frozenset({"message_not_found", "thread_not_found", "channel_not_found"})
"""Answers to an update of the triage post or a reply in its thread when the post (or its
channel) was deleted: the post is made again, once, in the ticket's triage channel."""
UNUSABLE = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked",
                      "token_expired", "ratelimited", "fatal_error", "internal_error",
                      "service_unavailable", "request_timeout"})
"""Web API errors that say the API cannot be used now (not that one request was wrong)."""


def api_problem(e: Exception) -> str | None:
    """Why the Web API cannot be used now, judging by this error of a call to it; None when
    the error is the request's own (an unknown channel: the API answered)."""
    if isinstance(e, SlackApiError):
        code = str(e.response.get("error", "")) if e.response is not None else ""
        status = e.response.status_code if e.response is not None else 0
        if code in UNUSABLE or status >= 500 or not code:
            return f"slack: {code or f'HTTP {status}'}"
        return None
    return f"cannot reach the Slack Web API ({type(e).__name__})"


class NotYet(Exception):
    """The job depends on work not done yet (a thread line before its triage post)."""


class SlackSender:
    def __init__(self, uow: UnitOfWorks, clock: Clock, client: AsyncWebClient,
                 helpdesk: Helpdesk, *, interval: float = 2.0) -> None:
        self.uow = uow
        self.clock = clock
        self.client = client
        self.helpdesk = helpdesk
        self.interval = interval
        self.sent = 0
        self.failures = 0
        self.reach = Reachability("Slack Web API")
        """What the deliveries (and the component's probe) say about the Web API."""
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.outbox = Outbox(uow.db, clock, KIND, POLICY)

    def wake(self) -> None:
        """Deliver soon; safe to call from any thread."""
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def send_due(self, limit: int = 50) -> int:
        """Deliver what is due now, batch after batch until none is left; returns how many
        jobs were delivered."""
        sent = 0
        while True:
            due = await asyncio.to_thread(self.outbox.due, limit)
            for row_id in due:
                item = await asyncio.to_thread(self.outbox.claim, row_id)
                if item is not None:
                    sent += await self._deliver(item)
            if len(due) < limit:
                return sent

    async def _deliver(self, item: OutboxItem) -> int:
        job = job_of(item)
        failure: Failure | None = None
        triage_ts: str | None = None
        called = True
        problem: str | None = None
        try:
            triage_ts = await self._call(job)
        except NotYet as e:
            failure, called = Failure(str(e)), False
        except SlackApiError as e:
            code = _code(e)
            wait = None
            if code == "ratelimited" and e.response is not None:
                retry_after = e.response.headers.get("Retry-After", "")
                wait = int(retry_after) if str(retry_after).isdigit() else None
            failure = Failure(f"slack: {code or e}", permanent=code in PERMANENT, wait=wait)
            problem = api_problem(e)
        except (OSError, TimeoutError, ValueError) as e:  # aiohttp's errors are OSErrors
            failure = Failure(f"{type(e).__name__}: {e}")
            problem = api_problem(e)
        if called and problem:
            self.reach.failed(problem)
        elif called:
            self.reach.succeeded()

        def link(s: Session) -> None:  # the new triage post, with its delivery
            if triage_ts is not None and job.ticket_id is not None:
                SqlSlackRepository(s).link(job.ticket_id, "triage", job.channel, triage_ts,
                                           self.clock.now())

        state = await asyncio.to_thread(self.outbox.record, item, failure, link)
        if failure is not None:
            self.failures += 1
            log.warning("slack work not delivered", extra={"job": job.id, "kind": job.kind,
                                                            "error": failure.error,
                                                            "state": state})
            return 0
        self.sent += 1
        return 1

    async def _call(self, job: SlackJob) -> str | None:
        """Do the job; returns the ts of a newly posted triage message."""
        if job.kind == "triage":
            assert job.ticket_id is not None
            posted = await asyncio.to_thread(self._thread_of, job.ticket_id)
            if posted is not None:
                view = await asyncio.to_thread(self.helpdesk.show, reference_of(job.ticket_id))
                try:
                    await self.client.chat_update(channel=posted[0], ts=posted[1],
                                                  text=triage_text(view),
                                                  blocks=triage_blocks(view))
                    return None
                except SlackApiError as e:
                    if _code(e) not in GONE:
                        raise
                    _gone(job, posted, e)
            return await self._post_triage(job.ticket_id, job.channel)
        if job.kind == "thread":
            assert job.ticket_id is not None
            posted = await asyncio.to_thread(self._thread_of, job.ticket_id)
            if posted is None:
                raise NotYet("the triage post is not there yet")
            try:
                await self.client.chat_postMessage(channel=posted[0], thread_ts=posted[1],
                                                   text=job.payload["text"], unfurl_links=False)
                return None
            except SlackApiError as e:
                if _code(e) not in GONE:
                    raise
                _gone(job, posted, e)
            ts = await self._post_triage(job.ticket_id, job.channel)
            # remembered before the line goes out: a failing line must not post it a third time
            await asyncio.to_thread(self._link, job.ticket_id, job.channel, ts)
            await self.client.chat_postMessage(channel=job.channel, thread_ts=ts,
                                               text=job.payload["text"], unfurl_links=False)
            return None
        if job.kind in ("reply", "link", "post"):  # post: a channel message (maintenance)
            await self.client.chat_postMessage(channel=job.channel,
                                               thread_ts=job.payload.get("thread_ts"),
                                               text=job.payload["text"], unfurl_links=False,
                                               blocks=job.payload.get("blocks"))
            return None
        if job.kind == HOME:  # rendered now: a refresh queued long ago shows the latest
            view = await asyncio.to_thread(self._home, job.channel)
            await self.client.views_publish(user_id=job.channel, view=view)
            return None
        raise ValueError(f"unknown Slack job kind {job.kind!r}")

    def _home(self, user: str) -> dict[str, Any]:
        with self.uow.reader() as uow:
            staff = next((s for s in uow.staff.list() if s.slack_user == user), None)
        return home_view(self.helpdesk, staff, self.clock.now())

    async def _post_triage(self, ticket_id: int, channel: str) -> str:
        """Post the ticket's triage message as it stands; returns its ts."""
        view = await asyncio.to_thread(self.helpdesk.show, reference_of(ticket_id))
        resp = await self.client.chat_postMessage(channel=channel, text=triage_text(view),
                                                  blocks=triage_blocks(view),
                                                  unfurl_links=False)
        return str(resp["ts"])

    def _link(self, ticket_id: int, channel: str, ts: str) -> None:
        with self.uow() as uow:
            uow.slack.link(ticket_id, "triage", channel, ts, self.clock.now())
            uow.commit()

    def _thread_of(self, ticket_id: int) -> tuple[str, str] | None:
        with self.uow.reader() as uow:
            return uow.slack.thread_of(ticket_id, "triage")

    async def run(self) -> None:
        """Deliver until cancelled."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        while True:
            try:
                await self.send_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("slack sender run failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()


def _code(e: SlackApiError) -> str:
    return str(e.response.get("error", "")) if e.response is not None else ""


def _gone(job: SlackJob, posted: tuple[str, str], e: SlackApiError) -> None:
    log.warning("the triage post is gone in Slack; posting it again",
                extra={"job": job.id, "ticket": job.ticket_id, "channel": posted[0],
                       "ts": posted[1], "error": _code(e)})
