"""``supportbot report``: a client's SLA report for a period, in md, html, csv or json."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from adapters.bootstrap import App
from adapters.cli import pass_app
from adapters.storage import SqlUnitOfWork
from bot.errors import InvalidAction
from bot.reports import FORMATS, render
from bot.reports.periods import PeriodError
from bot.reports.service import Reporting


def reporting(app: App) -> Reporting:
    return Reporting(lambda: SqlUnitOfWork(app.db, write=False), app.clock,
                     app.helpdesk.policies)


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
    try:
        text = render(reporting(app).report(client, period), fmt)
    except PeriodError as e:
        raise click.BadParameter(str(e), param_hint="--period") from None
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    tmp = output.with_name(output.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8", newline="")
        tmp.replace(output)
    except OSError as e:
        raise InvalidAction(f"cannot write {output}: {e.strerror or e}") from None
    click.echo(f"{output}: {len(text.encode())} bytes")
