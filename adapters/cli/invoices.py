"""``supportbot invoices``: the invoice lines of accepted reports, for an accounting system."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import click

from adapters.bootstrap import App
from adapters.cli.options import pass_app, write_out
from bot.reports.invoices import COLUMNS, Invoice, InvoiceLine


@click.group("invoices")
def invoices() -> None:
    """Invoices of accepted reports: list, show, export for accounting (held ones say why)."""


def _summary(i: Invoice) -> str:
    s = i.sent
    where = "invoiceable" if i.invoiceable else f"held: {i.held}"
    note = " (figures recomputed)" if i.recomputed else ""
    note += " (provisional: sent before the period ended)" if i.provisional else ""
    return (f"{s.id:>5} {s.client:<12} {s.period}  {i.state:<22} {i.billing:<6} "
            f"amount {i.amount:.2f}  credits {i.credits:.2f}  net {i.net:.2f} {i.currency}  "
            f"{where}{note}")


@invoices.command("list")
@click.option("--client", help="only this client's reports")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@pass_app
def invoices_list(app: App, client: str | None, as_json: bool) -> None:
    """Every report sent for approval, newest first: its amount, credits and net, and whether
    it can be invoiced (accepted) or is held back (waiting for an answer, challenged)."""
    rows = app.invoicing.list(client)
    if as_json:
        click.echo(json.dumps([{
            "report_id": i.sent.id, "client": i.sent.client, "period": i.sent.period,
            "state": i.state, "invoiceable": i.invoiceable, "held": i.held or None,
            "billing": i.billing, "amount": f"{i.amount:.2f}", "credits": f"{i.credits:.2f}",
            "net": f"{i.net:.2f}", "currency": i.currency, "recomputed": i.recomputed,
            "provisional": i.provisional,
        } for i in rows], indent=2))
        return
    if not rows:
        click.echo("no reports sent (supportbot reports send)")
    for i in rows:
        click.echo(_summary(i))


@invoices.command("show")
@click.argument("report_id", type=int)
@pass_app
def invoices_show(app: App, report_id: int) -> None:
    """One report's invoice: a line per priority (hours x rate), credits and net."""
    i = app.invoicing.show(report_id)
    click.echo(_summary(i))
    click.echo(f"{'priority':<9}{'hours':>9}{'rate':>10}{'amount':>12}{'credits':>12}"
               f"{'net':>12}")
    for line in i.lines:
        r = line.row()
        click.echo(f"{r['priority']:<9}{r['hours']:>9}{r['rate'] or '-':>10}{r['amount']:>12}"
                   f"{r['credits']:>12}{r['net']:>12}")
    if not i.lines:
        click.echo("no hours logged and no credits in the period")
    click.echo(f"{'total':<28}{i.amount:>12.2f}{i.credits:>12.2f}{i.net:>12.2f} {i.currency}")


def _csv(lines: list[InvoiceLine]) -> str:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    for line in lines:
        w.writerow(line.row())
    return out.getvalue()


@invoices.command("export")
@click.option("--format", "fmt", type=click.Choice(("csv", "json")), default="csv",
              show_default=True)
@click.option("--client", help="only this client's reports")
@click.option("--period", help="only this period (FIRST/LAST days, as `invoices list` shows)")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="write to this file instead of standard output")
@pass_app
def invoices_export(app: App, fmt: str, client: str | None, period: str | None,
                    output: Path | None) -> None:
    """The invoiceable lines (accepted reports only), oldest first: client, period, report
    id, priority, hours, rate, amount, credits, net, currency."""
    lines = app.invoicing.lines(client, period)
    text = _csv(lines) if fmt == "csv" else json.dumps([x.row() for x in lines], indent=2) + "\n"
    if write_out(text, output):
        click.echo(f"{output}: {len(lines)} lines", err=True)
