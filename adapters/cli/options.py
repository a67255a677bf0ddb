"""What the ``supportbot`` commands share: the context (settings read once, the app built on
first use), the common options and the way a ticket view is printed."""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:  # imported where used: ``--help`` and light commands skip them
    from adapters.bootstrap import App
    from bot.priority import Priority
    from bot.services import TicketView
    from config.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


class Ctx:
    """What the commands share: settings are read once, the app is built on first use."""

    def __init__(self, config: Path | None) -> None:
        self.config = config
        self._settings: Settings | None = None
        self._app: App | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from config.settings import load_settings

            self._settings = load_settings(self.config)
        return self._settings

    @property
    def app(self) -> App:
        if self._app is None:
            from adapters.bootstrap import bootstrap

            self._app = bootstrap(self.settings)
        return self._app

    def close(self) -> None:
        if self._app is not None:
            self._app.close()


def default_actor() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return os.environ.get("SUPPORTBOT_ACTOR") or f"cli:{user}"


def priority_value(_c: click.Context, _p: click.Parameter, value: str | None) -> Priority | None:
    if value is None:
        return None
    from bot.priority import Priority

    try:
        return Priority.parse(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


actor_option = click.option("--actor", default=default_actor, show_default="cli:$USER",
                            help="who does this, for the audit trail ($SUPPORTBOT_ACTOR)")
json_option = click.option("--json", "as_json", is_flag=True, help="print JSON")


def emit(view: TicketView, as_json: bool) -> None:
    from adapters.render import ticket_json, ticket_text

    if as_json:
        click.echo(json.dumps(ticket_json(view), indent=2))
    else:
        click.echo(ticket_text(view))


def pass_app(f: F) -> F:
    @wraps(f)
    def inner(*args: Any, **kwargs: Any) -> Any:
        return f(click.get_current_context().obj.app, *args, **kwargs)
    return inner  # type: ignore[return-value]


def ticket_action(group: click.Group, name: str, help_text: str,
                  call: Callable[..., TicketView], *params: Callable[[F], F]) -> None:
    """A ``tickets`` subcommand ``NAME REF [params] --actor --json`` that calls
    ``call(app, ref, actor=..., **params)`` and prints the ticket it returns."""
    @group.command(name, help=help_text)
    @click.argument("ref")
    @actor_option
    @json_option
    @pass_app
    def command(app: App, ref: str, actor: str, as_json: bool, **kwargs: Any) -> None:
        emit(call(app, ref, actor=actor, **kwargs), as_json)

    for p in reversed(params):
        p(command)


def write_out(text: str, output: Path | None) -> bool:
    """``text`` to standard output, or to ``output`` whole or not at all (a temporary file
    beside it, renamed); True when it went to the file."""
    import sys

    from bot.errors import InvalidAction

    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return False
    tmp = output.with_name(output.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8", newline="")
        tmp.replace(output)
    except OSError as e:
        raise InvalidAction(f"cannot write {output}: {e.strerror or e}") from None
    return True
