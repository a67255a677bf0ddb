"""The report as one self-contained HTML page with inline SVG charts: no scripts, no fonts, no
links to fetch, so it reads the same offline, in a mail client or printed. Byte-reproducible."""

from __future__ import annotations

from datetime import timedelta
from html import escape

from bot.reports.compute import RULE_TEXT, Report
from bot.reports.ratings import rating_lines
from bot.reports.text import availability_lines, hours_text, local, pct, summary_lines

_CSS = """body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;padding:.25em .6em;
text-align:left}th{background:#f3f3f3}.bad{color:#a40000;font-weight:600}.ok{color:#1a6b1a}
svg text{font:12px system-ui,sans-serif}.legend{list-style:none;padding:0;margin:.3em 0 1.5em}
.legend li{margin:.15em 0}.sw{display:inline-block;width:.9em;height:.9em;margin-right:.4em;
vertical-align:-.1em;border:1px solid #888}.tick{height:.2em;vertical-align:.25em}"""

SHADES = ("#4a7ab5", "#8bb0dc", "#b8cbe3")
"""Bar colours of the clocks, in the order of the report's clocks."""
SHADE_WORDS = ("darker", "lighter", "lightest")
BELOW = "#c0392b"
TICK = "#000000"

BINS = (2, 4, 8, 16, 24, 40, 80, 120)
"""Upper bounds, in working hours, of the time-to-resolution histogram's bars (and one more)."""


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def compliance_chart(r: Report) -> str:
    """Per priority and clock, a bar of the share met and a tick at the target share; the
    legend is ``chart_legend``, in HTML beside it, so no label can be cut off."""
    bar_w, gap, h, top, left = 22, 34, 160, 20, 40
    groups = [(p.priority.value, n, p.clocks[n]) for p in r.priorities
              for n in r.compliance_names]
    width = left + len(groups) * bar_w + (len(r.priorities)) * gap + 20
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h + top + 26}" '
             f'role="img" aria-label="share of clocks met against target, per priority '
             f'(legend below)">']
    for y in (0, 50, 100):
        yy = top + h - h * y // 100
        parts.append(f'<line x1="{left}" y1="{yy}" x2="{width - 10}" y2="{yy}" stroke="#ddd"/>'
                     f'<text x="4" y="{yy + 4}">{y}%</text>')
    x = left + gap // 2
    for p in r.priorities:
        for j, n in enumerate(r.compliance_names):
            c = p.clocks[n]
            share = c.share
            if share is not None:
                bh = round(h * share)
                fill = BELOW if c.meets_target is False else SHADES[j % len(SHADES)]
                parts.append(f'<rect x="{x}" y="{top + h - bh}" width="{bar_w - 2}" '
                             f'height="{bh}" fill="{fill}"><title>{_e(p.priority)} {_e(n)}: '
                             f'{c.met}/{c.total} ({pct(share)})</title></rect>')
            else:
                parts.append(f'<text x="{x + 2}" y="{top + h - 4}">–</text>')
            if c.target is not None:
                ty = top + h - round(h * c.target)
                parts.append(f'<line x1="{x - 2}" y1="{ty}" x2="{x + bar_w}" y2="{ty}" '
                             f'stroke="{TICK}" stroke-width="2"/>')
            x += bar_w
        parts.append(f'<text x="{x - bar_w * len(r.compliance_names) // 2 - 8}" '
                     f'y="{top + h + 18}">{_e(p.priority)}</text>')
        x += gap
    parts.append("</svg>")
    return "".join(parts)


def _swatch(colour: str, cls: str = "sw") -> str:
    return f'<span class="{cls}" style="background:{colour}"></span>'


def chart_legend(r: Report) -> str:
    """What the compliance chart's bars, colours and ticks mean, as HTML text."""
    names = list(r.compliance_names)
    shades = [SHADES[j % len(SHADES)] for j in range(len(names))]
    words = ", ".join(f"{n} {SHADE_WORDS[j % len(SHADE_WORDS)]}" if len(names) > 1 else n
                      for j, n in enumerate(names))
    items = [
        f"Bars, left to right in each priority: {_e(', '.join(names))}.",
        "".join(_swatch(c) for c in shades)
        + f"Blue bar: the share of clocks met ({_e(words)}).",
        _swatch(BELOW) + "Red bar: below the target share.",
        _swatch(TICK, "sw tick") + "Black tick: the target share.",
        "Dash: no clock counted for that priority.",
    ]
    return '<ul class="legend">' + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def ticket_table(r: Report) -> str:
    """One row per ticket, as in the Markdown and CSV forms."""
    head = ["Ticket", "Priority", "Subject", "Registered"]
    for n in r.clock_names:
        head += [n, f"{n} due", f"{n} stopped", f"{n} used", f"{n} late"]
    head.append("Hours logged")
    out = ["<table><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>"]
    for t in r.tickets:
        cells = [_e(t.reference), _e(t.priority), _e(t.subject), local(t.registered_at, r)]
        for n in r.clock_names:
            c = t.clocks[n]
            earlier = not c.counted and c.outcome not in ("carried", "not-started")
            cls = ' class="bad"' if c.outcome == "breached" else ""
            cells += [f'<span{cls}>{_e(c.outcome)}</span>'
                      + (" (earlier period)" if earlier else ""),
                      local(c.state.due, r), local(c.state.stopped_at, r),
                      hours_text(c.state.used), hours_text(c.late) if c.late else ""]
        cells.append(f"{t.hours:.2f}")
        out.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    out.append("</table>")
    return "".join(out)


def resolution_histogram(r: Report, clock: str = "resolution") -> str:
    """How many counted clocks stopped within each band of working time."""
    if clock not in r.clock_names:
        return ""
    used = [t.clocks[clock].state.used for t in r.tickets
            if t.clocks[clock].counted and t.clocks[clock].state.stopped_at is not None]
    labels = [f"≤{b}h" for b in BINS] + [f">{BINS[-1]}h"]
    counts = [0] * len(labels)
    for u in used:
        i = next((k for k, b in enumerate(BINS) if u <= timedelta(hours=b)), len(BINS))
        counts[i] += 1
    peak = max(counts) or 1
    bar_w, h, top, left = 44, 120, 16, 30
    width = left + bar_w * len(labels) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h + top + 40}" '
             f'role="img" aria-label="working time to {_e(clock)}">']
    for k, (label, n) in enumerate(zip(labels, counts, strict=True)):
        x = left + k * bar_w
        bh = round(h * n / peak)
        parts.append(f'<rect x="{x}" y="{top + h - bh}" width="{bar_w - 6}" height="{bh}" '
                     f'fill="#4a7ab5"><title>{_e(label)}: {n}</title></rect>'
                     f'<text x="{x + 4}" y="{top + h - bh - 3}">{n}</text>'
                     f'<text x="{x}" y="{top + h + 16}">{_e(label)}</text>')
    parts.append(f'<text x="{left}" y="{top + h + 34}">working time to {_e(clock)} '
                 f'({len(used)} tickets)</text></svg>')
    return "".join(parts)


def fee_table(r: Report) -> str:
    """Hours x rate per priority and the period's amount (a flat fee: one line)."""
    cur = _e(r.currency)
    if r.billing != "hourly":
        return f"<p>Flat fee for the period: <strong>{r.invoice_amount:.2f} {cur}</strong></p>"
    rows = "".join(f"<tr><td>{_e(f.priority)}</td><td>{f.hours:.2f}</td><td>{f.rate:.2f} {cur}"
                   f"</td><td>{f.amount:.2f} {cur}</td></tr>" for f in r.fees)
    return ("<table><tr><th>Priority</th><th>Hours</th><th>Rate per hour</th><th>Amount</th>"
            f"</tr>{rows}<tr><th colspan=\"3\">Amount for the period</th>"
            f"<th>{r.invoice_amount:.2f} {cur}</th></tr><tr><th colspan=\"3\">Net of credits"
            f"</th><th>{r.invoice_amount - r.credit_total:.2f} {cur}</th></tr></table>")


def render_html(r: Report) -> str:
    title = f"SLA report: {r.client}, {r.period}"
    out = ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
           f'<title>{_e(title)}</title><style>{_CSS}</style></head><body>',
           f'<h1>{_e(title)}</h1><ul>']
    out += [f"<li>{_e(line)}</li>" for line in summary_lines(r)]
    out.append("</ul><h2>Compliance per priority</h2><table><tr><th>Priority</th>"
               "<th>Registered</th><th>Hours logged</th>")
    out += [f"<th>{_e(n)} met</th><th>{_e(n)} target</th>" for n in r.compliance_names]
    out.append("</tr>")
    for p in r.priorities:
        out.append(f"<tr><td>{_e(p.priority)}</td><td>{p.registered}</td>"
                   f"<td>{p.hours:.2f}</td>")
        for n in r.compliance_names:
            c = p.clocks[n]
            cls = {True: "ok", False: "bad", None: ""}[c.meets_target]
            out.append(f"<td>{c.met}/{c.total} ({pct(c.share)})</td>"
                       f'<td class="{cls}">{pct(c.target)}</td>')
        out.append("</tr>")
    out.append("</table>")
    out.append(compliance_chart(r))
    out.append(chart_legend(r))
    hist = resolution_histogram(r)
    if hist:
        out.append("<h2>Working time to resolution</h2>" + hist)
    out.append("<h2>Breaches</h2>")
    if r.breaches:
        out.append("<table><tr><th>Ticket</th><th>Priority</th><th>Clock</th><th>Due</th>"
                   "<th>Stopped</th><th>Late (working time)</th></tr>")
        for b in r.breaches:
            out.append(f"<tr><td>{_e(b.reference)}</td><td>{_e(b.priority)}</td>"
                       f"<td>{_e(b.clock)}</td><td>{local(b.due, r)}</td>"
                       f"<td>{local(b.stopped_at, r) or 'still open'}</td>"
                       f"<td>{hours_text(b.late)}</td></tr>")
        out.append("</table>")
    else:
        out.append("<p>None.</p>")
    out.append("<h2>Fees</h2>" + fee_table(r))
    out.append("<h2>Credits</h2>")
    if not r.credits:
        out.append("<p>The policy grants no credits.</p>")
    for c in r.credits:
        prios = "/".join(p.value for p in c.priorities)
        out.append(f"<p>{_e(prios)} {_e(c.clock)} breaches: {len(c.breaches)} "
                   f"({_e(', '.join(c.breaches) or 'none')}); the first {c.free} free; "
                   f"{len(c.charged)} charged at {pct(float(c.share))} of "
                   f"{r.invoice_amount:.2f} {_e(r.currency)}: "
                   f"<strong>{c.amount:.2f} {_e(r.currency)}</strong></p>")
    if r.availability is not None:
        out.append("<h2>Availability</h2>" + "".join(
            f"<p>{_e(line)}</p>" for line in availability_lines(r)))
    out.append("<h2>Client satisfaction</h2>" + "".join(
        f"<p>{_e(line)}</p>" for line in rating_lines(r.ratings)))
    out.append(f"<h2>Open at the end of the period</h2><p>{_e(RULE_TEXT.get(r.open_rule, ''))}"
               f"</p><p>Carried over: {_e(', '.join(r.carried) or 'none')}.</p>")
    out.append("<h2>Change requests</h2>")
    if r.change_requests:
        out.append("<table><tr><th>Ticket</th><th>Subject</th><th>Due</th><th>Answered</th>"
                   "<th>Outcome</th></tr>")
        for cr in r.change_requests:
            out.append(f"<tr><td>{_e(cr.reference)}</td><td>{_e(cr.subject)}</td>"
                       f"<td>{local(cr.due, r)}</td><td>{local(cr.answered_at, r)}</td>"
                       f"<td>{_e(cr.outcome)}</td></tr>")
        out.append("</table>")
    else:
        out.append("<p>None.</p>")
    out.append("<h2>Tickets</h2>")
    out.append(ticket_table(r) if r.tickets else "<p>None.</p>")
    out.append("</body></html>\n")
    return "\n".join(out)
