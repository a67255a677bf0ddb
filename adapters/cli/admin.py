"""``supportbot run``, ``db`` and ``config``: the long-running process, the schema, the
settings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import click

from adapters.bootstrap import open_database
from adapters.cli.options import Ctx
from adapters.storage import SCHEMA_VERSION, Database


@click.command()
@click.pass_obj
def run(state: Ctx) -> None:
    """Run the bot: storage, scheduler and every configured intake, until stopped."""
    from adapters.runner import run_forever

    run_forever(state.settings)


@click.group()
def db() -> None:
    """Database schema."""


@contextmanager
def _database(state: Ctx) -> Iterator[Database]:
    database = open_database(state.settings)
    try:
        yield database
    finally:
        database.dispose()


@db.command("upgrade")
@click.pass_obj
def db_upgrade(state: Ctx) -> None:
    """Create or upgrade the schema to what this version needs."""
    with _database(state) as database:
        before, after = database.upgrade()
    click.echo(f"schema at version {after}" + (f" (was {before})" if before != after else
                                                " (already up to date)"))


@db.command("status")
@click.pass_obj
def db_status(state: Ctx) -> None:
    """Show the schema version."""
    with _database(state) as database:
        v = database.current_version()
    click.echo(f"{database!r}: schema version {v}, this supportbot needs {SCHEMA_VERSION}")


@click.group("config")
def config_group() -> None:
    """Settings."""


@config_group.command("check")
@click.option("--offline", is_flag=True, help="Do not try the clients' trackers.")
@click.pass_obj
def config_check(state: Ctx, offline: bool) -> None:
    """Validate the settings and print them as loaded.

    Besides what stops the bot at start, it reports mistakes across settings (a public URL that
    is not https, a relay password sent in clear text) and, unless --offline, tries each
    client's tracker (token, project, priorities, lists): one line each on stderr, exit 2.
    """
    from config.checks import cross_problems

    s = state.settings
    problems = cross_problems(s)
    for p in problems:
        click.echo(f"supportbot: configuration error: {s.origin_of(p.keys[0])}: "
                   f"{', '.join(p.keys)}: {p.reason}", err=True)
    failed = False
    if not offline and any(c.tracker is not None for c in s.clients):
        from adapters.trackers.check import check_trackers

        for checked in check_trackers(s):
            if checked.ok:
                click.echo(checked.line, err=True)
            else:
                failed = True
                click.echo(f"supportbot: configuration error: {s.origin_of(checked.key)}: "
                           f"{checked.key}: {checked.line}", err=True)
    if problems or failed:
        raise SystemExit(2)
    click.echo(f"settings from {s.source}: ok", err=True)
    click.echo(json.dumps(s.model_dump(mode="json", by_alias=True), indent=2))
