"""SLA reports: periods, figures, credits and renderers. Pure: tickets and the policy in, bytes
out.

    from bot.reports import compute_report, render
    report = compute_report(policy, client, period, tickets, now)
    text = render(report, "md")      # md, html, csv or json
"""

from __future__ import annotations

from bot.change_requests import CHANGE_REQUEST
from bot.reports.compute import Report, compute_report
from bot.reports.periods import Period, parse_period, period_containing, previous_period
from bot.reports.text import FORMATS


def render(report: Report, fmt: str) -> str:
    """The report in ``fmt`` (one of FORMATS)."""
    from bot.reports import html, text

    renderers = {"md": text.render_md, "csv": text.render_csv, "json": text.render_json,
                 "html": html.render_html}
    try:
        return renderers[fmt](report)
    except KeyError:
        raise ValueError(f"unknown report format {fmt!r} (expected "
                         f"{', '.join(FORMATS)})") from None


__all__ = ["CHANGE_REQUEST", "FORMATS", "Period", "Report", "compute_report", "parse_period",
           "period_containing", "previous_period", "render"]
