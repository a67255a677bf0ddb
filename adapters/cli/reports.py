"""``supportbot report``: a client's SLA report for a period, in md, html, csv or json;
``supportbot reports``: reports sent to clients for approval."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import click

from adapters.bootstrap import App
from adapters.cli.options import actor_option, pass_app, write_out
from adapters.cli.progress import Progress
from bot.reports import FORMATS, render
from bot.reports.approval import list_line
from bot.reports.periods import PeriodError

PROGRESS_FROM = 2_000
"""A report over this many tickets or more shows its progress on stderr (a long period takes
seconds: about 2 s of computing for 20,000 tickets, after 4 s of loading them)."""


@click.command("report")
@click.option("--client", required=True, help="the client's name")
@click.option("--period", default="current", show_default=True,
              help="current, previous, or FIRST/LAST days (YYYY-MM-DD/YYYY-MM-DD, both included)")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="md", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="write to this file instead of standard output")
@pass_app
def report(app: App, client: str, period: str, fmt: str, output: Path | None) -> None:
    """A client's SLA report: compliance per priority, breaches, credits, open tickets.

    Periods follow the client's policy (biweekly sprints from its anchor, or yearly); a
    period not over yet gives a provisional report as of now. The same events and policy
    always give the same bytes; the report names the policy version it used.
    """
    bar = Progress(unit="ticket", what="tickets", minimum=PROGRESS_FROM)
    try:
        text = render(app.reporting.report(client, period, progress=bar.advance), fmt)
    except PeriodError as e:
        raise click.BadParameter(str(e), param_hint="--period") from None
    finally:
        bar.close()
    if write_out(text, output):
        click.echo(f"{output}: {len(text.encode())} bytes")


@click.group("reports")
def reports() -> None:
    """Reports sent to clients for approval: send, list, accept, challenge."""


@reports.command("send")
@click.option("--client", required=True, help="the client's name")
@click.option("--period", default="previous", show_default=True,
              help="current, previous, or FIRST/LAST days (YYYY-MM-DD/YYYY-MM-DD)")
@pass_app
def reports_send(app: App, client: str, period: str) -> None:
    """Mail a report to the client's contacts (clients[].emails) for approval."""
    try:
        r = app.reporting.report(client, period)
    except PeriodError as e:
        raise click.BadParameter(str(e), param_hint="--period") from None
    sent = app.approvals.send(r, app.helpdesk.client(client))
    click.echo(f"report {sent.id}: {sent.client} {sent.period} queued to "
               f"{', '.join(sent.recipients)}; accepted automatically after "
               f"{sent.due_at.astimezone(r.start.tzinfo):%Y-%m-%d %H:%M %Z}")


@reports.command("list")
@click.option("--client", help="only this client's reports")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@pass_app
def reports_list(app: App, client: str | None, as_json: bool) -> None:
    """Sent reports, newest first: state (sent, accepted, challenged, accepted automatically)
    and the auto-acceptance deadline."""
    rows = app.approvals.list(client)
    if as_json:
        click.echo(json.dumps([{
            "id": s.id, "client": s.client, "period": s.period, "sent_at": s.sent_at.isoformat(),
            "state": state, "auto_accept_after": s.due_at.isoformat(),
            "decided_by": s.decided_by or None, "policy_version": s.policy_version,
            "recipients": list(s.recipients)} for s, state, _ in rows], indent=2))
        return
    if not rows:
        click.echo("no reports sent")
    for s, state, policy in rows:
        click.echo(list_line(s, state, policy))


def _decide(decision: str) -> Callable[..., None]:
    @pass_app
    def command(app: App, report_id: int, actor: str, note: str) -> None:
        s = app.approvals.decide(report_id, decision, actor=actor, note=note)
        click.echo(f"report {s.id} ({s.client} {s.period}): {s.state} by {s.decided_by}")
    return command


for _name, _decision, _help in (
        ("accept", "accepted", "Record that the client accepted a report."),
        ("challenge", "challenged", "Record that the client challenged a report.")):
    reports.command(_name, help=_help)(
        click.argument("report_id", type=int)(
            actor_option(click.option("--note", default="", help="what the client said")(
                _decide(_decision)))))
