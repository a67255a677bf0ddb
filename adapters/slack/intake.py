"""Slack events in: stored raw before Slack hears 200, processed afterwards from storage.

``accept`` keeps a delivery under its ``event_id`` (a retry finds it and changes nothing).
``process`` turns it into a ticket (a message in a client's support channel or a contact's
direct message, or any message given the ticket reaction), a follow-up (a reply in the thread
of a ticket's message, or one person's next message within the policy's
``slack_group_window``: one report sent in several messages), or a recorded reason why it was
ignored. Pleasantries ("thanks!", "👍") never open a ticket: they are kept on the person's
latest one as messages marked ``pleasantry``. Processing is idempotent: a row is processed
once, in the transaction that registers or appends, and a failing one is retried a few times
and then quarantined with the error. Storing and processing are the one inbox's
(``adapters.inbox``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.inbox.processor import Decision, Inbox
from adapters.slack.direct import contact_client, help_answer, is_direct
from adapters.slack.home import queue_home
from adapters.slack.identity import Identity, SlackIdentity
from adapters.slack.text import decode, mentioned_users
from adapters.slack.users import SlackUsers
from adapters.storage import SqlUnitOfWork, UnitOfWorks
from adapters.storage.inbox import Attempts, InboxItem
from bot import readable
from bot.clock import Clock
from bot.model import Channel, Client, TicketStatus
from bot.phone.followup import call_request
from bot.pleasantries import is_pleasantry
from bot.services import Helpdesk, TicketView

log = logging.getLogger("supportbot.slack")

KIND = "slack"
"""The inbox kind of Slack events; their key is the ``event_id``."""
ATTEMPTS = Attempts((10, 60, 300, 1800))
"""Five tries, then the event is quarantined with the error (its raw body stays)."""
TEXT_LIMIT = 20_000
HANDLED_SUBTYPES = (None, "file_share", "thread_broadcast")


class SlackIntake:
    def __init__(self, helpdesk: Helpdesk, uow: UnitOfWorks, clock: Clock, client: AsyncWebClient,
                 identity: SlackIdentity, *, reaction: str = "ticket",
                 on_queued: Callable[[], None] | None = None, sweep_seconds: float = 10.0,
                 phone_number: str | None = None, support_address: str | None = None) -> None:
        self.helpdesk = helpdesk
        self.uow = uow
        self.clock = clock
        self.client = client
        self.identity = identity
        self.reaction = reaction.strip(":")
        self.on_queued = on_queued
        self.sweep_seconds = sweep_seconds
        self.phone_number = phone_number
        """The number a P1's reporter is asked to call (``mail.phone_number``)."""
        self.support_address = support_address
        """Where the help answer to a stranger's direct message sends them (``mail``)."""
        self.processed = 0
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.inbox = Inbox(uow, clock, KIND, attempts=ATTEMPTS)
        self.users = SlackUsers(client)

    # -- before the 200 ----------------------------------------------------------------------

    def accept(self, body: dict[str, Any]) -> tuple[int, bool]:
        """Store an Events API delivery durably; returns (row id, new). Blocks: run it in a
        thread. Raises StorageError when it cannot store (Slack then retries)."""
        event = body.get("event") or {}
        event_id = str(body.get("event_id") or "")
        if not event_id:  # not from Slack's Events API; keep it anyway, under its content
            event_id = "nokey:" + json.dumps(body, sort_keys=True)[:200]
        return self.inbox.accept(event_id, json.dumps(body).encode("utf-8"),
                                 peer=str(event.get("type", "")))

    def wake(self) -> None:
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    # -- after ----------------------------------------------------------------------------

    async def process_pending(self, limit: int = 100) -> int:
        done = 0
        for row_id in await asyncio.to_thread(self.inbox.due, limit):
            await self.process(row_id)
            done += 1
        return done

    async def process(self, row_id: int) -> str:
        """Process one stored event; returns its state afterwards."""
        try:
            item = await asyncio.to_thread(self.inbox.pending, row_id)
            if item is None:
                return "done"
            body: dict[str, Any] = json.loads(item.text)
            event = body.get("event") or {}
            fetched = None
            if self._wants_fetch(event):
                fetched = await self._fetch(event["item"]["channel"], event["item"]["ts"])
            identity = await self.identity.get()
            names = await self._names(event, fetched)
            email = None
            if event.get("type") == "message" and is_direct(event) and event.get("user") \
                    and event.get("user") != identity.user_id:
                email = await self.users.email(str(event["user"]))

            def decide(uow: SqlUnitOfWork, _item: InboxItem) -> Decision:
                state, reason, ref, tid = self._decide(uow, event, fetched, identity, body,
                                                       names, email)
                self.helpdesk.publish(uow)
                return Decision(state, reason, tid, ref)

            decision = await asyncio.to_thread(self.inbox.apply, row_id, decide)
        except Exception as e:  # a bug or an outage: count it, give up after a few tries
            log.exception("processing slack event %s failed", row_id)
            return await asyncio.to_thread(self.inbox.failed, row_id,
                                           f"{type(e).__name__}: {e}")
        self.processed += 1
        log.info("slack event processed", extra={"slack_event": row_id, "state": decision.state,
                                                  "action": decision.reason,
                                                  "ticket": decision.reference or "-"})
        if self.on_queued is not None:
            self.on_queued()
        return decision.state

    def _wants_fetch(self, event: dict[str, Any]) -> bool:
        item = event.get("item") or {}
        return (event.get("type") == "reaction_added" and event.get("reaction") == self.reaction
                and item.get("type") == "message")

    async def _names(self, event: dict[str, Any], fetched: dict[str, Any] | None
                     ) -> dict[str, str]:
        """Names of the users mentioned in the event's text: staff by their name in the
        settings, others as Slack shows them."""
        texts = (event.get("text"), (event.get("message") or {}).get("text"),
                 (fetched or {}).get("text"))
        users = mentioned_users("\n".join(str(t) for t in texts if t))
        if not users:
            return {}
        staff = await asyncio.to_thread(self._staff_names)
        return staff | await self.users.names(u for u in users if u not in staff)

    def _staff_names(self) -> dict[str, str]:
        with self.uow.reader() as uow:
            return {s.slack_user: s.name for s in uow.staff.list() if s.slack_user}

    async def _fetch(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The message a reaction was put on."""
        try:
            r = await self.client.conversations_replies(channel=channel, ts=ts, limit=1,
                                                        inclusive=True)
        except SlackApiError as e:
            if e.response is not None and e.response.get("error") in ("thread_not_found",
                                                                       "message_not_found"):
                return None
            raise
        messages = [m for m in (r.get("messages") or []) if m.get("ts") == ts]
        return messages[0] if messages else None

    # -- the decisions, in one transaction -----------------------------------------------------

    def _decide(self, uow: SqlUnitOfWork, ev: dict[str, Any], fetched: dict[str, Any] | None,
                me: Identity, body: dict[str, Any], names: dict[str, str],
                email: str | None = None) -> tuple[str, str, str | None, int | None]:
        kind = ev.get("type")
        if kind == "message":
            return self._message(uow, ev, me, body, names, email)
        if kind == "reaction_added":
            return self._reaction(uow, ev, fetched, body, names)
        if kind == "app_home_opened" and ev.get("tab", "home") == "home":
            queued = queue_home(uow.slack, str(ev.get("user", "")), self.clock.now())
            return "done", "home tab opened: " + (
                "refresh queued" if queued else "a refresh is waiting already"), None, None
        return "ignored", f"{kind} events are not used", None, None

    def _message(self, uow: SqlUnitOfWork, ev: dict[str, Any], me: Identity,
                 body: dict[str, Any], names: dict[str, str], email: str | None = None
                 ) -> tuple[str, str, str | None, int | None]:
        channel = str(ev.get("channel", ""))
        subtype = ev.get("subtype")
        msg = ev.get("message") if subtype == "message_changed" else ev
        msg = msg or {}
        if self._own(msg, me) or self._own(ev, me):
            return "ignored", "the bot's own message", None, None
        if subtype == "message_changed":
            before = (ev.get("previous_message") or {}).get("text", "")
            if msg.get("text", "") == before:
                return "ignored", "an edit that changes nothing", None, None
            found = uow.slack.ticket_of(channel, str(msg.get("ts", "")))
            if found is None or found[1] != "source":
                return "ignored", "an edit of a message that is not a report", None, None
            return self._follow_up(uow, found[0], msg, names, edited=True)
        if subtype not in HANDLED_SUBTYPES:
            return "ignored", f"message subtype {subtype} is not a report", None, None
        ts, thread_ts = str(ev.get("ts", "")), ev.get("thread_ts")
        if thread_ts and thread_ts != ts:
            found = uow.slack.ticket_of(channel, str(thread_ts))
            if found is None:
                return "ignored", "a reply in a thread that is no ticket's", None, None
            if found[1] != "source":
                return "ignored", "staff discussion in the triage thread", None, None
            if self._staff(uow, str(ev.get("user", ""))):
                return "ignored", "staff wrote in the client's thread (use /ticket reply)", \
                    None, None
            return self._follow_up(uow, found[0], ev, names)
        if uow.slack.ticket_of(channel, ts) is not None:
            return "ignored", "this message is a ticket already", None, None
        if is_direct(ev):
            user = str(ev.get("user", ""))
            client = contact_client(uow, user, email)
            if client is None:
                told = help_answer(uow, channel, user, self.clock.now(),
                                   self.support_address) if user else False
                return "ignored", "a direct message from no client's contact: " + (
                    "help answered" if told else "help answered already today"), None, None
            return self._top_level(uow, ev, client, body, names, how="direct message")
        client = _client_of(uow, channel)
        if client is None:
            return "ignored", "not a support channel", None, None
        return self._top_level(uow, ev, client, body, names, how="message in a support channel")

    def _top_level(self, uow: SqlUnitOfWork, ev: dict[str, Any], client: Client,
                   body: dict[str, Any], names: dict[str, str], *, how: str
                   ) -> tuple[str, str, str | None, int | None]:
        """A message not in a thread: a pleasantry joins the person's latest ticket here; a
        message within the group window of their previous one joins that report; anything
        else is a new ticket."""
        user, channel = str(ev.get("user") or ""), str(ev.get("channel", ""))
        text = decode(str(ev.get("text", "")), names)[:TEXT_LIMIT]
        latest = uow.slack.latest_from(channel, f"slack:{user}") if user else None
        if latest is not None and latest[2] == TicketStatus.CLOSED.value:
            latest = None
        if is_pleasantry(text):
            if latest is None:
                return "ignored", "a pleasantry: no ticket opened", None, None
            return self._join(uow, latest[0], ev, text, pleasantry=True)
        window = self.helpdesk.policies.get(client.policy).slack_group_window
        if latest is not None and _gap(latest[1], str(ev.get("ts", ""))) <= window:
            return self._join(uow, latest[0], ev, text)
        return self._register(uow, ev, client, body, names, how=how)

    def _join(self, uow: SqlUnitOfWork, ticket_id: int, ev: dict[str, Any], text: str, *,
              pleasantry: bool = False) -> tuple[str, str, str | None, int | None]:
        t = uow.tickets.get(ticket_id, for_update=True)
        assert t is not None
        now, actor = self.clock.now(), f"slack:{ev.get('user') or 'unknown'}"
        channel, ts = str(ev.get("channel", "")), str(ev.get("ts", ""))
        uow.slack.link(ticket_id, "source", channel, ts, now)
        data = {"from": actor, "slack_ts": ts}
        if pleasantry:
            t.receive_message(actor=actor, now=now, data={**data, "text": text,
                                                          "pleasantry": True})
            return "done", "a pleasantry: kept on the ticket", t.reference, t.id
        before = t.priority
        view = self.helpdesk.join_in(uow, t, text=text, actor=actor, data=data, at=now)
        if view is None:
            return "done", "joined the report sent just before", t.reference, t.id
        first = uow.slack.thread_of(ticket_id, "source", first=True) or (channel, ts)
        lead = f"With what you added, *{t.reference}* is now priority *{t.priority}*."
        uow.slack.queue("reply", key=f"reclassified:{ticket_id}:{ts}", channel=first[0],
                        at=now, ticket_id=ticket_id, payload={
                            "thread_ts": first[1],
                            "text": registered_text(view, self.phone_number, lead=lead)})
        return "done", f"joined the report sent just before; classified again: {before} -> " \
            f"{t.priority}", t.reference, t.id

    def _reaction(self, uow: SqlUnitOfWork, ev: dict[str, Any], fetched: dict[str, Any] | None,
                  body: dict[str, Any], names: dict[str, str]
                  ) -> tuple[str, str, str | None, int | None]:
        item = ev.get("item") or {}
        if ev.get("reaction") != self.reaction or item.get("type") != "message":
            return "ignored", f"reaction :{ev.get('reaction')}: is not the ticket reaction", \
                None, None
        channel, ts = str(item.get("channel", "")), str(item.get("ts", ""))
        found = uow.slack.ticket_of(channel, ts)
        if found is not None:
            return "ignored", "this message is a ticket already", None, found[0]
        if fetched is None:
            return "ignored", "the message is gone (deleted or not visible to the bot)", \
                None, None
        message = {**fetched, "channel": channel, "ts": ts}
        return self._register(uow, message, _client_of(uow, channel), body, names,
                              how=f"reaction by {ev.get('user', '?')}",
                              actor=f"slack:{ev.get('user', '?')}")

    def _register(self, uow: SqlUnitOfWork, msg: dict[str, Any], client: Client | None,
                  body: dict[str, Any], names: dict[str, str], *, how: str,
                  actor: str | None = None) -> tuple[str, str, str | None, int | None]:
        now = self.clock.now()
        text = decode(str(msg.get("text", "")), names)[:TEXT_LIMIT]
        user = str(msg.get("user") or msg.get("bot_id") or "unknown")
        channel, ts = str(msg.get("channel", "")), str(msg.get("ts", ""))
        first = next((line for line in text.splitlines() if line.strip()), "")
        view = self.helpdesk.register_in(
            uow, subject=first[:150], body=text, client=client, channel=Channel.SLACK,
            requester=f"slack:{user}", actor=actor or f"slack:{user}",
            details={"slack_channel": channel, "slack_ts": ts,
                     "event_id": str(body.get("event_id", "")), "how": how}, at=now)
        t = view.ticket
        assert t.id is not None
        uow.slack.link(t.id, "source", channel, ts, now)
        uow.slack.queue("link", key=f"link:{t.id}", channel=channel, at=now, ticket_id=t.id,
                        payload={"thread_ts": msg.get("thread_ts") or ts,
                                 "text": registered_text(view, self.phone_number)})
        return "done", f"registered ({how})", t.reference, t.id

    def _follow_up(self, uow: SqlUnitOfWork, ticket_id: int, msg: dict[str, Any],
                   names: dict[str, str], edited: bool = False
                   ) -> tuple[str, str, str | None, int | None]:
        t = uow.tickets.get(ticket_id, for_update=True)
        assert t is not None
        user = str(msg.get("user") or "unknown")
        data: dict[str, Any] = {"from": f"slack:{user}",
                                "text": decode(str(msg.get("text", "")), names)[:TEXT_LIMIT],
                                "slack_ts": str(msg.get("ts", ""))}
        if edited:
            data["edited"] = True
        now = self.clock.now()
        if is_pleasantry(data["text"]):
            data["pleasantry"] = True  # kept, but no answer: it never restarts a clock
        t.receive_message(actor=f"slack:{user}", now=now, data=data)
        if edited:
            return "done", "edit recorded", t.reference, t.id
        if not data.get("pleasantry") and t.client_answered(actor=f"slack:{user}", now=now,
                                                            channel="slack"):
            return "done", "follow-up: the client answered", t.reference, t.id
        return "done", "follow-up", t.reference, t.id

    @staticmethod
    def _own(msg: dict[str, Any], me: Identity) -> bool:
        return bool((me.bot_id and msg.get("bot_id") == me.bot_id)
                    or (me.user_id and msg.get("user") == me.user_id))

    @staticmethod
    def _staff(uow: SqlUnitOfWork, user: str) -> bool:
        return bool(user) and any(s.slack_user == user for s in uow.staff.list())

    async def run(self) -> None:
        """Process stored events until cancelled: at once when woken, and in periodic sweeps
        (events stored before a crash, or whose processing failed)."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        while True:
            try:
                await self.process_pending()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("slack event sweep failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.sweep_seconds)
            self._wake.clear()


def _gap(earlier_ts: str, ts: str) -> timedelta:
    """The time between two Slack messages, from their ``ts`` (seconds since the epoch)."""
    try:
        return timedelta(seconds=abs(float(ts) - float(earlier_ts)))
    except ValueError:
        return timedelta.max


def _client_of(uow: SqlUnitOfWork, channel: str) -> Client | None:
    return next((c for c in uow.clients.list() if channel in c.slack_channels), None)


def registered_text(view: TicketView, phone_number: str | None = None,
                    lead: str | None = None) -> str:
    """The answer in the reporter's thread: reference, priority, when we answer and, for a
    P1 whose contract wants it, the phone call (as the mail acknowledgement has it); ``lead``
    instead of the first sentence (a priority that changed)."""
    t = view.ticket
    text = lead or f"Thanks, this is registered as *{t.reference}* with priority *{t.priority}*."
    c = view.clocks.get("response")
    if c is not None and c.running and c.due is not None:
        due = readable.when(c.due, view.policy.calendar.tz, year=False)
        text += f" We respond by {due} (in {readable.duration(c.left)} working time)."
    if t.phone_followup == "pending":
        text += (f"\nThis is a {t.priority} incident: the agreement requires it to be followed "
                 "up by a phone call.")
        ask = call_request(t.reference, phone_number)
        text += f" {ask}" if ask else ""
    return text
