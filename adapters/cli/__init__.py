"""The ``supportbot`` command line. User mistakes end in one clear line and a non-zero exit.

Exit codes: 0 done; 1 the action was refused or failed (unknown ticket, invalid action, storage);
2 a usage or configuration mistake.

Commands are registered lazily (``COMMANDS``): a command's module, and what it imports (storage,
vendor SDKs, the mail pipeline), is loaded only when that command runs, so ``--help`` and quick
commands do not pay for the others. ``tests/test_cli_lazy.py`` keeps the table's short help in
step with the commands' own.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import click

from adapters.cli.options import Ctx
from bot.errors import ConfigError, SupportbotError

COMMANDS: dict[str, tuple[str, str, str]] = {
    "config": ("admin", "config_group", "Settings."),
    "db": ("admin", "db", "Database schema."),
    "import": ("importer", "import_group",
               "Bring a mailbox's history in as tickets, at the messages' own dates."),
    "inbox": ("inbox", "inbox",
              "Inputs the intakes stored (mail, Slack events, Twilio webhooks), kept raw."),
    "ingest": ("mail", "ingest",
               "Take one message from an MTA (Postfix/Exim pipe): FILE or standard input."),
    "invoices": ("invoices", "invoices",
                 "Invoices of accepted reports: list, show, export for accounting (held ones "
                 "say why)."),
    "maintenance": ("maintenance", "maintenance_group",
                    "Maintenance windows: announce them to clients (with the policy's notice), "
                    "list them."),
    "outbox": ("outbox", "outbox",
               "What the bot sends (mail, Slack posts): waiting to go out, sent, failed or "
               "dropped."),
    "policy": ("maintenance", "policy_group",
               "Changes of clients' policy files: what changed, and the clients' approval."),
    "quarantine": ("mail", "quarantine",
                   "Mail that could not be taken, kept raw with the reason."),
    "reminders": ("reminders", "reminders",
                  "Deadline reminders: planned next, and recorded by the scheduler."),
    "report": ("reports", "report",
               "A client's SLA report: compliance per priority, breaches, credits, open tickets."),
    "reports": ("reports", "reports",
                "Reports sent to clients for approval: send, list, accept, challenge."),
    "run": ("admin", "run",
            "Run the bot: storage, scheduler and every configured intake, until stopped."),
    "sla": ("sla", "sla", "Deadlines and the arithmetic behind them."),
    "staff": ("staff", "staff", "Staff sign-in to the dashboard: set a password, list who "
              "can sign in."),
    "tickets": ("tickets", "tickets", "List, show and act on tickets."),
    "tracker": ("tracker", "tracker_group",
                "Each client's joint tracker (Jira, Trello, Asana): sync and status."),
}
"""Command name -> (module under ``adapters.cli``, attribute, the short help ``--help`` shows:
the first sentence of the command's docstring)."""

EXTENDED_BY: dict[str, tuple[str, ...]] = {"tickets": ("maintenance",)}
"""Command name -> the modules that add subcommands to its group (``tickets outage``), loaded
with it."""

ALIASES = {"ticket": "tickets"}


def load_command(name: str) -> click.Command:
    """Import the module of command ``name`` (a key of ``COMMANDS``) and return the command."""
    module, attribute, _help = COMMANDS[name]
    for extension in EXTENDED_BY.get(name, ()):
        importlib.import_module(f"adapters.cli.{extension}")
    command = getattr(importlib.import_module(f"adapters.cli.{module}"), attribute)
    if not isinstance(command, click.Command):
        raise TypeError(f"adapters.cli.{module}.{attribute} is not a click command")
    return command


class _Root(click.Group):
    """Lists every command from ``COMMANDS`` and imports one only when it is run; takes
    ``ticket`` as another name for ``tickets`` without listing it twice."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        name = ALIASES.get(cmd_name, cmd_name)
        return load_command(name) if name in COMMANDS else None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from the table: no command module is imported for ``--help``."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, click.Command(name, help=COMMANDS[name][2]).get_short_help_str(limit))
                for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_Root,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", type=click.Path(path_type=Path), default=None,
              help="settings file (default: $SUPPORTBOT_CONFIG, else ./supportbot.toml if present)")
@click.pass_context
def cli(ctx: click.Context, config: Path | None) -> None:
    """supportbot: SLA-aware support intake."""
    state = Ctx(config)
    ctx.obj = state
    ctx.call_on_close(state.close)


def main(argv: list[str] | None = None) -> int:
    """Entry point: returns the exit code; user errors print one line, never a traceback."""
    try:
        cli.main(args=argv, prog_name="supportbot", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 1
    except click.exceptions.NoArgsIsHelpError as e:
        click.echo(e.ctx.get_help() if e.ctx else str(e), err=True)
        return 2
    except click.UsageError as e:
        cmd = e.ctx.command_path if e.ctx else "supportbot"
        click.echo(f"supportbot: error: {e.format_message()} (see '{cmd} --help')", err=True)
        return 2
    except click.ClickException as e:
        click.echo(f"supportbot: error: {e.format_message()}", err=True)
        return 2
    except ConfigError as e:
        click.echo(f"supportbot: configuration error: {e}", err=True)
        return 2
    except SupportbotError as e:
        click.echo(f"supportbot: error: {e}", err=True)
        return 1
    except KeyError as e:  # unknown clock or deadline names from the policy API
        click.echo(f"supportbot: error: {e.args[0] if e.args else e}", err=True)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
