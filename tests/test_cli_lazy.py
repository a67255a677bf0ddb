"""The command line imports only what a command needs: ``--help`` loads no command module, no
storage and no vendor SDK; the lazy table of commands says what the commands say."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
import pytest

from adapters.cli import COMMANDS, cli, load_command

HEAVY = ("slack_sdk", "slack_bolt", "twilio", "aiosmtpd", "starlette", "uvicorn", "apscheduler",
         "pandas", "sqlalchemy", "sqlmodel", "pydantic", "adapters.bootstrap")

_PROBE = """
import json, sys
from adapters.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def _modules_after(*args: str) -> tuple[int, str, set[str]]:
    """Run ``supportbot ARGS`` in a fresh interpreter: exit code, stdout, modules imported."""
    done = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True,
                          timeout=60, check=False)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["code"], done.stdout, set(report["modules"])


def _loaded(modules: set[str], name: str) -> bool:
    return any(m == name or m.startswith(name + ".") for m in modules)


def test_help_lists_every_command_without_importing_them() -> None:
    code, out, modules = _modules_after("--help")
    assert code == 0
    for name in COMMANDS:
        assert f"\n  {name} " in out, f"{name} missing from --help"
    assert [m for m in HEAVY if _loaded(modules, m)] == []
    assert sorted(m for m in modules if m.startswith("adapters.cli.")) == ["adapters.cli.options"]


def test_a_command_imports_its_own_module_only() -> None:
    code, out, modules = _modules_after("sla", "--help")
    assert code == 0 and "deadline" in out
    assert "adapters.cli.sla" in modules
    assert not _loaded(modules, "adapters.cli.tickets")
    assert [m for m in ("slack_sdk", "twilio", "aiosmtpd", "starlette", "apscheduler")
            if _loaded(modules, m)] == []


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_table_help_is_the_commands_own(name: str) -> None:
    command = load_command(name)
    assert command.name == name
    assert COMMANDS[name][2] == command.get_short_help_str(1000)


def test_help_truncates_like_click() -> None:
    ctx = click.Context(cli)
    formatter = ctx.make_formatter()
    cli.format_commands(ctx, formatter)
    eager = click.Group(commands={n: load_command(n) for n in COMMANDS})
    expected = ctx.make_formatter()
    eager.format_commands(ctx, expected)
    assert formatter.getvalue() == expected.getvalue()


def test_ticket_is_another_name_and_unknown_is_none() -> None:
    ctx = click.Context(cli)
    assert cli.get_command(ctx, "ticket") is cli.get_command(ctx, "tickets")
    assert cli.get_command(ctx, "nonsense") is None
    assert "ticket" not in cli.list_commands(ctx)


@pytest.fixture
def sqlite_config(tmp_path: Path) -> Path:
    config = tmp_path / "supportbot.toml"
    config.write_text(f'[storage]\nurl = "sqlite:///{tmp_path / "x.db"}"\n', encoding="utf-8")
    return config


def test_tickets_list_imports_no_vendor_sdk(sqlite_config: Path) -> None:
    code, out, modules = _modules_after("--config", str(sqlite_config), "tickets", "list")
    assert code == 0, out
    assert [m for m in ("slack_sdk", "slack_bolt", "twilio", "aiosmtpd", "starlette", "uvicorn",
                        "apscheduler", "pandas", "adapters.twilio", "adapters.slack",
                        "multiprocessing", "adapters.mail.batch", "bot.mail.parse")
            if _loaded(modules, m)] == []  # a read builds no mail intake


def test_a_read_does_not_write_a_current_schema(sqlite_config: Path) -> None:
    from sqlalchemy import select

    from adapters.bootstrap import bootstrap, open_database
    from adapters.storage.tables import SchemaVersionRow
    from config.settings import load_settings

    settings = load_settings(sqlite_config, env={})
    db = open_database(settings)
    db.upgrade(datetime(2026, 1, 1, tzinfo=UTC))
    db.dispose()
    bootstrap(settings).close()  # auto_upgrade is on, the schema is current: nothing to write
    db = open_database(settings)
    with db.engine.connect() as conn:
        stamp = conn.execute(select(SchemaVersionRow.upgraded_at)).scalar_one()
    db.dispose()
    assert stamp.replace(tzinfo=UTC) == datetime(2026, 1, 1, tzinfo=UTC)


_TREE = """
import json, sys
import click
from adapters.cli import COMMANDS, load_command

def tree(c):
    if isinstance(c, click.Group):
        return {n: tree(s) for n, s in sorted(c.commands.items())}
    return None

if sys.argv[1] == "all":
    for name in COMMANDS:
        load_command(name)
    print(json.dumps({name: tree(load_command(name)) for name in COMMANDS}))
else:
    print(json.dumps(tree(load_command(sys.argv[1]))))
"""


def _tree(which: str) -> object:
    done = subprocess.run([sys.executable, "-c", _TREE, which], capture_output=True, text=True,
                          timeout=60, check=True)
    return json.loads(done.stdout)


def test_a_command_loaded_alone_has_every_subcommand() -> None:
    """Modules that add subcommands to another's group (``tickets outage`` comes from
    ``maintenance``) are loaded with it."""
    everything = _tree("all")
    assert isinstance(everything, dict)
    assert "outage" in everything["tickets"]
    alone = {name: _tree(name) for name in COMMANDS}
    assert alone == everything
