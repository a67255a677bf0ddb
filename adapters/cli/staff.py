"""``supportbot staff passwd|list``: the staff members' dashboard sign-in."""

from __future__ import annotations

import sys

import click

from adapters.cli.options import Ctx


@click.group()
def staff() -> None:
    """Staff sign-in to the dashboard: set a password, list who can sign in."""


@staff.command("passwd")
@click.argument("name")
@click.option("--stdin", "from_stdin", is_flag=True,
              help="read the password from the first line of standard input (scripts)")
@click.option("--role", type=click.Choice(["staff", "manager"]), default=None,
              help="manager: may also see reports and maintenance (default: keep; new: staff)")
@click.pass_obj
def staff_passwd(state: Ctx, name: str, from_stdin: bool, role: str | None) -> None:
    """Set NAME's dashboard password (asked twice), stored as an argon2 hash. NAME is one of
    the settings' ``staff[].name``; a new password ends NAME's sessions."""
    from adapters.storage.staff_accounts import StaffAccounts
    from adapters.web.dashboard.auth import hash_password

    app = state.app
    known = {s.name for s in app.settings.staff_objects()}
    if name not in known:
        raise click.BadParameter(f"{name!r} is not a staff member: add [[staff]] name = "
                                 f"{name!r} to {app.settings.source} first", param_hint="NAME")
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        hashed = hash_password(password)
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    account = StaffAccounts(app.db).set_password(name, hashed, at=app.clock.now(), role=role)
    click.echo(f"password set for {account.name} ({account.role})")


@staff.command("list")
@click.pass_obj
def staff_list(state: Ctx) -> None:
    """Who can sign in to the dashboard, with their role."""
    from adapters.storage.staff_accounts import StaffAccounts

    accounts = StaffAccounts(state.app.db).list()
    if not accounts:
        click.echo("nobody can sign in yet: supportbot staff passwd NAME")
    for a in accounts:
        click.echo(f"{a.name:<20} {a.role:<8} password set {a.changed_at:%Y-%m-%d %H:%M} UTC")
