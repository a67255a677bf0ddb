"""The ``supportbot`` command line. User mistakes end in one clear line and a non-zero exit.

Exit codes: 0 done; 1 the action was refused or failed (unknown ticket, invalid action, storage);
2 a usage or configuration mistake.
"""

from __future__ import annotations

from pathlib import Path

import click

from adapters.cli.admin import config_group, db, run
from adapters.cli.inbox import inbox
from adapters.cli.mail import ingest, quarantine
from adapters.cli.maintenance import maintenance_group, policy_group
from adapters.cli.options import Ctx
from adapters.cli.outbox import outbox
from adapters.cli.reminders import reminders
from adapters.cli.reports import report, reports
from adapters.cli.sla import sla
from adapters.cli.tickets import tickets
from bot.errors import ConfigError, SupportbotError


class _Root(click.Group):
    """Takes ``ticket`` as another name for ``tickets`` without listing it twice."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, "tickets" if cmd_name == "ticket" else cmd_name)


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


for _command in (run, tickets, ingest, outbox, inbox, quarantine, sla, db, config_group, report,
                 reports, maintenance_group, policy_group, reminders):
    cli.add_command(_command)


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
