"""Report approval: a report is mailed to the client's contacts, who accept or challenge it by
replying with a keyword (or staff record their answer); without an answer it is accepted
automatically once the policy's ``report_acceptance`` deadline (``10wd``) has passed.

The automatic acceptance is derived, never stored: a sent report's state at ``now`` is its
recorded decision, else ``accepted`` (automatically) after ``due_at``, else ``sent``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import UTC, datetime

from bot import readable
from bot.clock import Clock
from bot.errors import InvalidAction, NotFound
from bot.mail import compose
from bot.model import Client, OutboundMail
from bot.policies import PolicyBook
from bot.ports import ReportingUnitOfWork
from bot.reports.compute import Report
from bot.reports.html import render_html
from bot.reports.invoices import figures_json
from bot.reports.model import SentReport
from bot.reports.text import render_json, render_md
from bot.sla.policy import Policy

DEADLINE = "report_acceptance"
ACCEPT = frozenset({"accept", "accepted", "approve", "approved", "ok", "akkoord",
                    "goedgekeurd", "aanvaard", "accepte", "approuve"})
CHALLENGE = frozenset({"challenge", "challenged", "dispute", "disputed", "betwist", "bezwaar",
                       "conteste", "contestation"})
_FIRST_WORD = re.compile(r"[^\W\d_]+")


def keyword(text: str) -> str | None:
    """``accepted`` or ``challenged`` from the first word of the reply's own text, else None."""
    for line in text.splitlines():
        if line.strip():
            m = _FIRST_WORD.search(compose.one_line(line).casefold())
            word = (m.group(0) if m else "").translate(str.maketrans("éèê", "eee"))
            if word in ACCEPT:
                return "accepted"
            if word in CHALLENGE:
                return "challenged"
            return None
    return None


def report_mail(report: Report, *, sender: str, recipients: tuple[str, ...], due: datetime,
                msgid: str, at: datetime) -> OutboundMail:
    """The report for approval: Markdown in the body, the HTML page attached."""
    subject = compose.one_line(f"SLA report {report.client} {report.period} for approval", 200)
    m = compose.base_message(sender, ", ".join(recipients), subject, msgid, at=at,
                             auto="auto-generated")
    tz = report.start.tzinfo
    m.set_content(
        render_md(report) + "\n---\n"
        "Please reply to this mail with ACCEPT on the first line to accept this report, or "
        "CHALLENGE followed by your reasons to challenge it.\n"
        f"Without an answer it is accepted automatically after "
        f"{readable.when(due, tz or UTC)} (the contract's "
        "working days to approve or challenge).\n")
    m.add_attachment(render_html(report).encode("utf-8"), maintype="text", subtype="html",
                     filename=f"sla-report-{report.client}-{report.period.first}.html")
    return OutboundMail("report", sender, recipients, msgid, subject, m.as_bytes())


class Approvals:
    """Send reports for approval, record answers, list where each stands."""

    def __init__(self, uow: Callable[[], ReportingUnitOfWork], clock: Clock,
                 policies: PolicyBook, sender: str) -> None:
        self._uow = uow
        self.clock = clock
        self.policies = policies
        self.sender = sender

    def send(self, report: Report, client: Client) -> SentReport:
        """Queue ``report`` to the client's contacts and record it, in one transaction.
        Sending the same report again changes nothing; another report for a period whose
        report is sent or accepted is refused (a challenged one may be replaced)."""
        now = self.clock.now()
        policy = self.policies.get(client.policy)
        recipients = tuple(a for a in (compose.safe_address(e) for e in client.emails) if a)
        if not recipients:
            raise InvalidAction(f"client {client.name} has no contact addresses to send the "
                                "report to (clients[].emails)")
        if client.id is None:
            raise NotFound(f"no client named {client.name!r}")
        digest = hashlib.sha256(render_json(report).encode()).hexdigest()
        msgid = compose.message_id("report", f"{client.name}.{report.period.first}."
                                   f"{digest[:16]}", self.sender)
        due = policy.working_day_deadline(DEADLINE, now)
        with self._uow() as uow:
            for earlier in uow.reports.sent_reports(client_id=client.id):
                if earlier.period_first != report.period.first:
                    continue
                if earlier.message_id == msgid:
                    return earlier
                if earlier.state_at(now) != "challenged":
                    raise InvalidAction(
                        f"the report of {client.name} for {earlier.period} was sent already "
                        f"(report {earlier.id}, {earlier.state_at(now)}); only a challenged "
                        "report can be replaced")
            sent = uow.reports.add_sent(SentReport(
                client.id, client.name, report.period.first, report.period.last,
                report.policy_version, digest, msgid, recipients, now, due,
                figures=figures_json(report)))
            uow.outbox.add(report_mail(report, sender=self.sender, recipients=recipients,
                                       due=due, msgid=msgid, at=now), at=now)
            uow.commit()
        return sent

    def decide(self, report_id: int, decision: str, *, actor: str, note: str = "") -> SentReport:
        """Record ``accepted`` or ``challenged`` for a report still waiting for an answer."""
        with self._uow() as uow:
            sent = self.decide_in(uow, report_id, decision, actor=actor, note=note)
            uow.commit()
        return sent

    def decide_in(self, uow: ReportingUnitOfWork, report_id: int, decision: str, *,
                  actor: str, note: str = "") -> SentReport:
        now = self.clock.now()
        if decision not in ("accepted", "challenged"):
            raise InvalidAction(f"a report is accepted or challenged, not {decision!r}")
        sent = uow.reports.get_sent(report_id, for_update=True)
        if sent is None:
            raise NotFound(f"no sent report {report_id}")
        state = sent.state_at(now)
        if state != "sent":
            tz = self.policies.get(self._policy_of(uow, sent)).calendar.tz
            when = (sent.decided_at or sent.due_at).astimezone(tz).strftime("%Y-%m-%d %H:%M")
            raise InvalidAction(f"report {report_id} is already {state} ({when})")
        return uow.reports.decide(report_id, decision, at=now, by=actor, note=note)

    @staticmethod
    def _policy_of(uow: ReportingUnitOfWork, sent: SentReport) -> str:
        c = uow.clients.get_by_id(sent.client_id)
        return c.policy if c else ""

    def answer_by_mail(self, uow: ReportingUnitOfWork, thread: tuple[str, ...], text: str,
                       sender: str, client: Client) -> str | None:
        """A contact's reply to a report mail, inside the intake's transaction: what was done,
        or None when the mail answers no report of this client (it is then an ordinary mail).
        A reply without a keyword, or to a report decided already, is noted and kept."""
        sent = uow.reports.sent_by_message_ids(thread)
        if sent is None or sent.client_id != client.id or sent.id is None:
            return None
        decision = keyword(text)
        if decision is None:
            return f"reply to report {sent.id} without ACCEPT or CHALLENGE: kept, not decided"
        try:
            self.decide_in(uow, sent.id, decision, actor=sender, note=text.strip()[:2000])
        except InvalidAction as e:
            return f"reply to report {sent.id}: {e}"
        return f"report {sent.id} {decision} by {sender}"

    def list(self, client: str | None = None) -> list[tuple[SentReport, str, Policy | None]]:
        """Sent reports, newest first, each with its state now."""
        now = self.clock.now()
        with self._uow() as uow:
            cid = None
            if client is not None:
                c = uow.clients.get(client)
                if c is None:
                    raise NotFound(f"no client named {client!r}")
                cid = c.id
            rows = uow.reports.sent_reports(client_id=cid)
            policies = {r.client_id: self.policies.get(self._policy_of(uow, r)) for r in rows}
        return [(r, r.state_at(now), policies.get(r.client_id)) for r in rows]


def list_line(sent: SentReport, state: str, policy: Policy | None) -> str:
    tz = policy.calendar.tz if policy else None
    due = sent.due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if tz else sent.due_at.isoformat()
    sent_at = sent.sent_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if tz else ""
    after = f"accepted automatically after {due}" if state == "sent" else \
        f"auto-acceptance was due {due}"
    return (f"{sent.id:>5} {sent.client:<12} {sent.period}  sent {sent_at}  {state:<22} "
            f"{after}")


__all__ = ["ACCEPT", "CHALLENGE", "Approvals", "SentReport", "keyword", "list_line",
           "report_mail"]
