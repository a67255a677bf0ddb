"""``supportbot sla``: deadlines and the arithmetic behind them, the built-in policies, a policy
file checked."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from adapters.cli.options import Ctx, F, json_option, priority_value
from bot.priority import Priority
from bot.sla import builtin_policies, load_policy
from bot.sla.durations import format_duration
from bot.sla.extends import explain_origins


@click.group()
def sla() -> None:
    """Deadlines and the arithmetic behind them."""


def _sla_options(f: F) -> F:
    f = click.option("--policy", default=None,
                     help="built-in name or policy file (default: the configured default)")(f)
    f = click.option("--priority", required=True, callback=priority_value)(f)
    f = click.option("--clock", default="response", show_default=True)(f)
    f = click.option("--start", required=True,
                     help="ISO 8601 instant; without an offset it is the policy's local time")(f)
    return f


def _deadline_inputs(state: Ctx, policy: str | None, clock: str,
                     start: str) -> tuple[Any, datetime]:
    name = policy or state.settings.policies.default
    p = load_policy(name, state.settings.policies.paths)
    try:
        when = datetime.fromisoformat(start)
    except ValueError:
        raise click.BadParameter(f"{start!r} is not an ISO 8601 instant "
                                 "(e.g. 2026-12-24T17:00+01:00)", param_hint="--start") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=p.calendar.tz)
    if clock not in p.clocks:
        raise click.BadParameter(f"policy {p.name} has no clock {clock!r} "
                                 f"(it has: {', '.join(p.clocks)})", param_hint="--clock")
    if p.is_placeholder(f"clocks.{clock}.targets"):
        click.echo(f"warning: policy {p.name}: the {clock} targets are placeholders; fill them in "
                   f"from the contract ({p.source})", err=True)
    return p, when


@sla.command("deadline")
@_sla_options
@json_option
@click.pass_obj
def sla_deadline(state: Ctx, policy: str | None, priority: Priority, clock: str, start: str,
                 as_json: bool) -> None:
    """Print when a clock started at START is due."""
    p, when = _deadline_inputs(state, policy, clock, start)
    due = p.deadline(priority, clock, when)
    if as_json:
        click.echo(json.dumps({"policy": p.name, "policy_version": p.version,
                               "priority": priority.value, "clock": clock,
                               "start": when.isoformat(), "target": format_duration(
                                   p.target(priority, clock)),
                               "due": due.isoformat(),
                               "due_utc": due.astimezone(UTC).isoformat()}))
    else:
        click.echo(due.isoformat())


@sla.command("explain")
@_sla_options
@click.pass_obj
def sla_explain(state: Ctx, policy: str | None, priority: Priority, clock: str,
                start: str) -> None:
    """Show how the due instant was counted."""
    p, when = _deadline_inputs(state, policy, clock, start)
    target = p.target(priority, clock)
    ex = p.calendar.explain(when, target)
    tz = p.calendar.tz
    click.echo(f"policy {p.name} ({p.version}): {priority} {clock} target "
               f"{format_duration(target)} of working time")
    click.echo(f"start {when.astimezone(tz):%a %d %b %Y %H:%M %Z}")
    click.echo(str(ex))
    click.echo(f"due   {ex.due.astimezone(tz):%a %d %b %Y %H:%M %Z}  ({ex.due.isoformat()})")
    if len(p.chain) > 1:  # it extends another policy: say where each value came from
        click.echo("from: " + " <- ".join(p.chain))
        for line in explain_origins(p, clock, when, ex.due):
            click.echo(f"  {line}")


@sla.command("policies")
@click.pass_obj
def sla_policies(state: Ctx) -> None:
    """List the built-in policies."""
    for name in builtin_policies():
        p = load_policy(name)
        note = "  (placeholder targets)" if p.placeholders else ""
        click.echo(f"{name:<10} {p.version}  {p.title}{note}")


@sla.command("check")
@click.argument("file", type=click.Path(path_type=Path))
def sla_check(file: Path) -> None:
    """Validate a policy file."""
    p = load_policy(file)
    click.echo(f"{file}: ok: {p.name} ({p.version}), clocks {', '.join(p.clocks)}")
    for key in p.placeholders:
        click.echo(f"  placeholder: {key}")
