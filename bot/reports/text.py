"""Reports as Markdown, CSV (one row per ticket) and JSON; HTML is in ``bot.reports.html``.

Every renderer is a pure function of the Report: no clock, no locale, sorted keys, fixed number
formats, ``\\n`` line ends. The same report gives the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.reports.compute import Report
from bot.reports.ratings import rating_lines, ratings_dict

FORMATS = ("md", "html", "csv", "json")


def hours_text(d: timedelta) -> str:
    """Working time as hours and minutes, rounded down to the minute: ``3h05m``."""
    minutes = int(d.total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m"


def pct(share: float | None) -> str:
    return "n/a" if share is None else f"{Decimal(str(share * 100)).quantize(Decimal('0.1'))}%"


def local(dt: datetime | None, r: Report) -> str:
    if dt is None:
        return ""
    return dt.astimezone(r.start.tzinfo).strftime("%Y-%m-%d %H:%M")


def _money(r: Report, amount: Decimal) -> str:
    return f"{amount:.2f} {r.currency}"


def _verdict(ok: bool | None) -> str:
    return {True: "met", False: "NOT met", None: "n/a"}[ok]


def to_dict(r: Report) -> dict[str, Any]:
    """The report as plain data (the JSON form)."""
    def iso(dt: datetime | None) -> str | None:
        return dt.isoformat() if dt is not None else None

    return {
        "client": r.client,
        "policy": {"name": r.policy_name, "title": r.policy_title, "version": r.policy_version,
                   "placeholders": list(r.placeholders)},
        "period": {"kind": r.period_kind, "first_day": r.period.first.isoformat(),
                   "last_day": r.period.last.isoformat(), "timezone": r.timezone,
                   "start": iso(r.start), "end": iso(r.end)},
        "as_of": iso(r.as_of),
        "final": r.final,
        "open_at_period_end": {"rule": r.open_rule, "carried": list(r.carried)},
        "priorities": [{
            "priority": p.priority.value, "registered": p.registered,
            "hours_logged": f"{p.hours:.2f}",
            "clocks": {n: {"met": c.met, "total": c.total, "share": pct(c.share),
                           "target": pct(c.target), "target_met": c.meets_target}
                       for n, c in p.clocks.items()},
        } for p in r.priorities],
        "breaches": [{"ticket": b.reference, "priority": b.priority.value, "clock": b.clock,
                      "due": iso(b.due), "stopped": iso(b.stopped_at),
                      "late_working_seconds": int(b.late.total_seconds()),
                      "late": hours_text(b.late)} for b in r.breaches],
        "credits": [{"clock": c.clock, "priorities": [p.value for p in c.priorities],
                     "breaches": list(c.breaches), "free": c.free, "charged": list(c.charged),
                     "share_of_invoice": str(c.share), "amount": f"{c.amount:.2f}",
                     "currency": c.currency} for c in r.credits],
        "invoice_amount": f"{r.invoice_amount:.2f}",
        "billing": r.billing,
        "fees": [{"priority": f.priority.value, "hours": f"{f.hours:.2f}",
                  "rate": f"{f.rate:.2f}", "amount": f"{f.amount:.2f}"} for f in r.fees],
        "credit_total": f"{r.credit_total:.2f}",
        "change_requests": [{"ticket": c.reference, "subject": c.subject,
                             "registered": iso(c.registered_at), "due": iso(c.due),
                             "answered": iso(c.answered_at), "outcome": c.outcome,
                             "late": hours_text(c.late)} for c in r.change_requests],
        "tickets": [row for row in csv_rows(r)],
        "satisfaction": ratings_dict(r.ratings),
        **({} if not r.repeating else {"cycles": [{
            "ticket": c.reference, "priority": c.priority.value, "clock": c.clock,
            "cycle": c.cycle, "started": iso(c.started_at), "due": iso(c.due),
            "stopped": iso(c.stopped_at), "outcome": c.outcome, "late": hours_text(c.late)}
            for c in r.cycles]}),
        **({} if r.availability is None else {"availability": availability_dict(r)}),
        **({} if not r.policy_changes else {"policy_changes": {
            "acknowledged_version": r.acknowledged_version, "changes": list(r.policy_changes)}}),
    }


def availability_dict(r: Report) -> dict[str, Any]:
    a = r.availability
    assert a is not None
    return {
        "share": f"{a.share * 100:.3f}%", "target": f"{a.target * 100:.3f}%",
        "target_met": a.meets_target, "measured_seconds": int(a.measured.total_seconds()),
        "maintenance_seconds": int(a.maintenance.total_seconds()),
        "down_seconds": int(a.down.total_seconds()),
        "outages": [{"ticket": o.reference, "start": o.start.isoformat(),
                     "end": o.end.isoformat() if o.end else None, "corrected": o.corrected}
                    for o in a.outages]}


def availability_lines(r: Report) -> list[str]:
    """The availability section's text (empty when the policy states no target)."""
    a = r.availability
    if a is None:
        return []
    lines = [f"Availability: {a.share * 100:.3f}% against a target of {a.target * 100:.3f}% "
             f"({_verdict(a.meets_target)}): {hours_text(a.down)} down in "
             f"{hours_text(a.measured)} measured; {hours_text(a.maintenance)} of announced "
             "maintenance left out."]
    for o in a.outages:
        end = local(o.end, r) if o.end else "still down"
        lines.append(f"Outage {o.reference}: {local(o.start, r)} to {end}"
                     f"{' (corrected by staff)' if o.corrected else ''}")
    return lines


def fee_lines(r: Report) -> list[str]:
    """The fees section's text: each priority's hours x rate, and the period's amount."""
    if r.billing != "hourly":
        return [f"Flat fee for the period: {_money(r, r.invoice_amount)}."]
    lines = [f"{f.priority}: {f.hours:.2f} h x {_money(r, f.rate)}/h = {_money(r, f.amount)}"
             for f in r.fees]
    return [*lines, f"Amount for the period: {_money(r, r.invoice_amount)}; net of credits: "
            f"{_money(r, r.invoice_amount - r.credit_total)}."]


def render_json(r: Report) -> str:
    return json.dumps(to_dict(r), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def csv_rows(r: Report) -> list[dict[str, str]]:
    rows = []
    for t in r.tickets:
        row = {"ticket": t.reference, "kind": t.kind, "priority": t.priority.value,
               "subject": t.subject, "registered": local(t.registered_at, r),
               "open_at_end": "yes" if t.open_at_end else "no", "hours": f"{t.hours:.2f}"}
        for n in r.clock_names:
            c = t.clocks[n]
            row[f"{n}_outcome"] = c.outcome
            row[f"{n}_counted"] = "yes" if c.counted else "no"
            row[f"{n}_due"] = local(c.state.due, r)
            row[f"{n}_stopped"] = local(c.state.stopped_at, r)
            row[f"{n}_used"] = hours_text(c.state.used)
            row[f"{n}_late"] = hours_text(c.late)
        rows.append(row)
    return rows


def csv_columns(r: Report) -> list[str]:
    cols = ["ticket", "kind", "priority", "subject", "registered", "open_at_end", "hours"]
    for n in r.clock_names:
        cols += [f"{n}_{k}" for k in ("outcome", "counted", "due", "stopped", "used", "late")]
    return cols


def render_csv(r: Report) -> str:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=csv_columns(r), lineterminator="\n")
    w.writeheader()
    w.writerows(csv_rows(r))
    return out.getvalue()


def summary_lines(r: Report) -> list[str]:
    """Who, what period, which policy version, and how final: the head of every text form."""
    state = "final" if r.final else f"provisional, as of {local(r.as_of, r)}"
    lines = [f"Client: {r.client}",
             f"Period: {r.period.first.isoformat()} to {r.period.last.isoformat()} "
             f"({r.period_kind}, {r.timezone}); {state}",
             f"Policy: {r.policy_title} ({r.policy_name}, version {r.policy_version})"]
    if r.placeholders:
        lines.append("Warning: the policy's values for " + ", ".join(r.placeholders)
                     + " are placeholders")
    if r.policy_changes:
        lines.append(f"Policy changed since version {r.acknowledged_version}, the one the "
                     "client acknowledged: " + "; ".join(r.policy_changes))
    return lines


def render_md(r: Report) -> str:
    from bot.reports.compute import RULE_TEXT

    out = [f"# SLA report: {r.client}, {r.period}", ""]
    out += [f"- {line}" for line in summary_lines(r)]
    out += ["", "## Compliance per priority", ""]
    head = ["Priority", "Registered", "Hours"]
    for n in r.compliance_names:
        head += [f"{n} met", f"{n} %", f"{n} target"]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" * len(head))
    for p in r.priorities:
        cells = [p.priority.value, str(p.registered), f"{p.hours:.2f}"]
        for n in r.compliance_names:
            c = p.clocks[n]
            cells += [f"{c.met}/{c.total}", pct(c.share),
                      f"{pct(c.target)} ({_verdict(c.meets_target)})"]
        out.append("| " + " | ".join(cells) + " |")
    out += [f"{n} counts each client message answered (a cycle), not each ticket."
            for n in r.repeating]
    out += ["", "## Breaches", ""]
    if not r.breaches:
        out.append("None.")
    for b in r.breaches:
        stop = f"stopped {local(b.stopped_at, r)}" if b.stopped_at else "still open"
        out.append(f"- {b.reference} {b.priority} {b.clock}: due {local(b.due, r)}, {stop}, "
                   f"late by {hours_text(b.late)} of working time")
    out += ["", "## Fees", ""] + [f"- {line}" for line in fee_lines(r)]
    out += ["", "## Credits", ""]
    if not r.credits:
        out.append("The policy grants no credits.")
    for c in r.credits:
        prios = "/".join(p.value for p in c.priorities)
        out.append(f"- {prios} {c.clock} breaches: {len(c.breaches)} "
                   f"({', '.join(c.breaches) or 'none'}); the first {c.free} free; "
                   f"{len(c.charged)} charged at {pct(float(c.share))} of "
                   f"{_money(r, r.invoice_amount)}: {_money(r, c.amount)}")
    if r.credits:
        out.append(f"- Total credit: {_money(r, r.credit_total)}")
    if r.availability is not None:
        out += ["", "## Availability", ""] + [f"- {line}" for line in availability_lines(r)]
    out += ["", "## Client satisfaction", ""] + [f"- {line}" for line in rating_lines(r.ratings)]
    out += ["", "## Open at the end of the period", "", RULE_TEXT.get(r.open_rule, r.open_rule)]
    out.append("Carried over: " + (", ".join(r.carried) or "none") + ".")
    out += ["", "## Change requests", ""]
    if not r.change_requests:
        out.append("None.")
    for cr in r.change_requests:
        ans = f"answered {local(cr.answered_at, r)}" if cr.answered_at else "not answered yet"
        late = f", late by {hours_text(cr.late)}" if cr.late else ""
        out.append(f"- {cr.reference} {cr.subject}: due {local(cr.due, r)}, {ans} "
                   f"({cr.outcome}{late})")
    out += ["", "## Tickets", ""]
    out.append("| Ticket | Priority | Registered | " + " | ".join(r.clock_names) + " | Hours |")
    out.append("|" + "---|" * (4 + len(r.clock_names)))
    for t in r.tickets:
        cells = [t.reference, t.priority.value, local(t.registered_at, r)]
        cells += [t.clocks[n].outcome + ("" if t.clocks[n].counted or
                                         t.clocks[n].outcome in ("carried", "not-started")
                                         else " (earlier period)")
                  for n in r.clock_names]
        cells.append(f"{t.hours:.2f}")
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


__all__ = ["FORMATS", "csv_rows", "fee_lines", "hours_text", "pct", "render_csv",
           "render_json", "render_md", "to_dict"]
