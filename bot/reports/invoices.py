"""Invoices from accepted reports (Support Policy, section 5: "The invoice will be created based
on the bespoke rates and the approved support reports").

A report sent for approval keeps its invoice *figures* (``figures``): per priority the hours,
rate, amount and the credits its breaches earned, as the client saw them. Only a report accepted
(by a contact's reply, by staff, or automatically after the acceptance deadline) is invoiceable;
one waiting for an answer or challenged is held back with the reason. A report sent before
its period ended is invoiced as the client accepted it (``provisional``: hours logged later in
the period are on no invoice; the list says so). A report sent before figures were kept has
them recomputed from the same period's history.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from decimal import Decimal
from typing import Any

from bot.errors import NotFound
from bot.priority import Priority
from bot.reports.compute import Report
from bot.reports.fees import FLAT, split_credit
from bot.reports.model import SentReport
from bot.sla.policy import Policy

INVOICEABLE = frozenset({"accepted", "accepted automatically"})
ALL = "all"
"""The priority column of a flat fee's one line."""
COLUMNS = ("client", "period", "report_id", "priority", "hours", "rate", "amount", "credits",
           "net", "currency")


def _credits_by_priority(report: Report) -> dict[Priority, Decimal]:
    """Each credit rule's amount shared over the priorities of the breaches it charged."""
    level = {t.reference: t.priority for t in report.tickets}
    out: dict[Priority, Decimal] = {}
    for c in report.credits:
        counts = [(p, sum(level.get(r) == p for r in c.charged)) for p in Priority]
        for p, amount in split_credit(c.amount, [(p, n) for p, n in counts if n]).items():
            out[p] = out.get(p, Decimal(0)) + amount
    return out


def figures(report: Report) -> dict[str, Any]:
    """What an invoice of ``report`` says, as plain data (kept with the sent report)."""
    credits = _credits_by_priority(report)
    if report.billing == FLAT:
        hours = sum((p.hours for p in report.priorities), Decimal(0))
        lines = [{"priority": ALL, "hours": f"{hours:.2f}", "rate": "",
                  "amount": f"{report.invoice_amount:.2f}",
                  "credits": f"{report.credit_total:.2f}"}]
    else:
        lines = [{"priority": f.priority.value, "hours": f"{f.hours:.2f}",
                  "rate": f"{f.rate:.2f}", "amount": f"{f.amount:.2f}",
                  "credits": f"{credits.get(f.priority, Decimal(0)):.2f}"}
                 for f in report.fees if f.hours or credits.get(f.priority)]
    return {"billing": report.billing, "currency": report.currency, "final": report.final,
            "amount": f"{report.invoice_amount:.2f}", "credits": f"{report.credit_total:.2f}",
            "lines": lines}


def figures_json(report: Report) -> str:
    return json.dumps(figures(report), sort_keys=True)


@dataclass(frozen=True)
class InvoiceLine:
    client: str
    period: str
    report_id: int
    priority: str  # P1-P4, or "all" for a flat fee
    hours: Decimal
    rate: Decimal | None  # None for a flat fee
    amount: Decimal
    credits: Decimal
    currency: str

    @property
    def net(self) -> Decimal:
        return self.amount - self.credits

    def row(self) -> dict[str, str]:
        """The line as an accounting import reads it (``COLUMNS``)."""
        return {"client": self.client, "period": self.period, "report_id": str(self.report_id),
                "priority": self.priority, "hours": f"{self.hours:.2f}",
                "rate": "" if self.rate is None else f"{self.rate:.2f}",
                "amount": f"{self.amount:.2f}", "credits": f"{self.credits:.2f}",
                "net": f"{self.net:.2f}", "currency": self.currency}


@dataclass(frozen=True)
class Invoice:
    """A sent report as an invoice: its lines, or why it is held back."""

    sent: SentReport
    state: str
    held: str  # why it cannot be invoiced; "" when it can
    billing: str
    lines: tuple[InvoiceLine, ...]
    currency: str
    recomputed: bool = False  # sent before figures were kept: computed again from history
    provisional: bool = False  # sent before the period ended: what the client saw then

    @property
    def invoiceable(self) -> bool:
        return not self.held

    @property
    def amount(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))

    @property
    def credits(self) -> Decimal:
        return sum((line.credits for line in self.lines), Decimal(0))

    @property
    def net(self) -> Decimal:
        return self.amount - self.credits


def lines_of(sent: SentReport, data: dict[str, Any]) -> tuple[InvoiceLine, ...]:
    assert sent.id is not None
    return tuple(InvoiceLine(
        sent.client, sent.period, sent.id, str(line["priority"]), Decimal(line["hours"]),
        Decimal(line["rate"]) if line["rate"] else None, Decimal(line["amount"]),
        Decimal(line["credits"]), str(data["currency"])) for line in data["lines"])


def held_reason(sent: SentReport, state: str, later: SentReport | None, tz: tzinfo | None) -> str:
    """Why ``sent`` is not invoiceable ("" when it is)."""
    def when(dt: Any) -> str:
        return dt.astimezone(tz).strftime("%Y-%m-%d %H:%M") if tz else dt.isoformat()

    replaced = f" (replaced by report {later.id})" if later is not None else ""
    if state == "challenged":
        note = " ".join(sent.note.split())
        reason = f"challenged by {sent.decided_by or 'the client'}"
        reason += f" on {when(sent.decided_at)}" if sent.decided_at else ""
        reason += f": {note[:160]}" if note else ""
        return reason + replaced
    if state not in INVOICEABLE:
        return f"waiting for the client's answer (accepted automatically after {when(sent.due_at)})"
    return ""


class Invoicing:
    """Invoices of the reports sent for approval.

    ``sent_reports``: the sent reports with their state now and policy (``Approvals.list``);
    ``recompute``: a sent report's figures from history, for one sent before they were kept.
    """

    def __init__(self, sent_reports: Callable[[str | None], Sequence[tuple[SentReport, str,
                                                                            Policy | None]]],
                 recompute: Callable[[SentReport], Report]) -> None:
        self._sent = sent_reports
        self._recompute = recompute

    def list(self, client: str | None = None) -> list[Invoice]:
        """Every sent report as an invoice or held back, newest first."""
        rows = self._sent(client)
        latest: dict[tuple[int, object], SentReport] = {}
        for s, _state, _policy in sorted(rows, key=lambda r: r[0].id or 0):
            latest[(s.client_id, s.period_first)] = s
        out = []
        for s, state, policy in rows:
            newer = latest[(s.client_id, s.period_first)]
            held = held_reason(s, state, newer if newer.id != s.id else None,
                               policy.calendar.tz if policy else None)
            out.append(self._invoice(s, state, held))
        return out

    def show(self, report_id: int) -> Invoice:
        for invoice in self.list():
            if invoice.sent.id == report_id:
                return invoice
        raise NotFound(f"no sent report {report_id} (supportbot invoices list)")

    def lines(self, client: str | None = None, period: str | None = None) -> list[InvoiceLine]:
        """The invoiceable lines, oldest report first, for an accounting import."""
        chosen = [i for i in reversed(self.list(client))
                  if i.invoiceable and (period is None or i.sent.period == period)]
        return [line for i in chosen for line in i.lines]

    def _invoice(self, s: SentReport, state: str, held: str) -> Invoice:
        recomputed = not s.figures
        data = figures(self._recompute(s)) if recomputed else json.loads(s.figures)
        return Invoice(s, state, held, str(data["billing"]), lines_of(s, data),
                       str(data["currency"]), recomputed, not data.get("final", True))


__all__ = ["ALL", "COLUMNS", "INVOICEABLE", "Invoice", "InvoiceLine", "Invoicing", "figures",
           "figures_json", "held_reason", "lines_of"]
