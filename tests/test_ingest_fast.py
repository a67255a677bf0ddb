"""The MTA pipe's fast path (``adapters/mail/pipe.py``): with a bot running, ``supportbot ingest``
only stores the raw bytes (the row the full path stores) and the bot makes the ticket; with none
running, the command processes the message itself."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from adapters.mail.inbound import Accepted, InboundStore
from adapters.mail.pipe import (
    SCHEMA_VERSION,
    Target,
    presence,
    store_if_bot_runs,
    target_from_settings,
    target_of,
)
from adapters.storage import Database
from adapters.storage.database import SCHEMA_VERSION as DATABASE_SCHEMA_VERSION
from adapters.storage.tables import InboundRow
from adapters.system_clock import SystemClock
from tests.procs import BotProcess, clean_env, cli_json, free_port, storage_toml

RAW = (b"From: ops@nightowl.example\r\nSubject: Reports slow for some users\r\n"
       b"Message-ID: <fast-1@nightowl.example>\r\n\r\nslow\r\n")


def _target(db: Database) -> Target:
    url = db.url.set(drivername=db.url.get_backend_name()).render_as_string(hide_password=False)
    found = target_of(url, db.schema)
    assert found is not None
    return found


def _row(db: Database, inbound_id: int) -> dict[str, Any]:
    table = InboundRow.__table__  # type: ignore[attr-defined]
    with db.engine.connect() as conn:
        row = conn.execute(select(table).where(table.c.id == inbound_id)).mappings().one()
    return dict(row)


def test_the_fast_path_writes_the_schema_this_code_has() -> None:
    assert SCHEMA_VERSION == DATABASE_SCHEMA_VERSION


def test_no_bot_running_means_nothing_stored(database: Database) -> None:
    assert store_if_bot_runs(_target(database), [RAW]) is None
    assert InboundStore(database, SystemClock()).stored == 0
    with database.engine.connect() as conn:
        table = InboundRow.__table__  # type: ignore[attr-defined]
        assert conn.execute(select(table.c.id)).all() == []


def test_with_a_bot_present_the_row_is_the_one_the_full_path_stores(database: Database) -> None:
    full = InboundStore(database, SystemClock()).accept_all_now(
        [Accepted(raw=RAW, channel="pipe", peer="pipe")])[0]
    before = datetime.now(UTC)
    with presence(database):
        ids = store_if_bot_runs(_target(database), [RAW, RAW + b"more\r\n"])
    assert ids is not None and len(ids) == 2 and full < ids[0] < ids[1]
    expected, got = _row(database, full), _row(database, ids[0])
    stamps = [row.pop("received_at") for row in (expected, got)]
    for row in (expected, got):
        row.pop("id")
    assert got == expected
    assert _row(database, ids[1])["raw"] == RAW + b"more\r\n"
    # the same instant as the full path would have written, read back the same way
    assert stamps[0].tzinfo == stamps[1].tzinfo
    stamp = stamps[1] if stamps[1].tzinfo else stamps[1].replace(tzinfo=UTC)
    assert before - timedelta(seconds=1) <= stamp <= datetime.now(UTC) + timedelta(seconds=1)
    # the presence released (the bot stopped): the command processes its mail itself again
    assert store_if_bot_runs(_target(database), [RAW]) is None


def test_another_schema_version_steps_aside(database: Database) -> None:
    from sqlalchemy import text

    with database.write_engine.begin() as conn:
        conn.execute(text("UPDATE schema_version SET version = version + 1"))
    with presence(database):
        assert store_if_bot_runs(_target(database), [RAW]) is None


def test_the_target_is_read_as_the_settings_are(tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text('[storage]\nurl = "sqlite:///data/x.db"\n', encoding="utf-8")
    assert target_from_settings(config, env={}, cwd=tmp_path) == \
        Target("sqlite", str(Path.cwd() / "data/x.db"))
    env = {"SUPPORTBOT_STORAGE__URL": "postgresql+psycopg://u@h:5/db",
           "SUPPORTBOT_STORAGE__SCHEMA": "s1"}
    assert target_from_settings(config, env=env, cwd=tmp_path) == \
        Target("postgresql", "postgresql://u@h:5/db", "s1")
    (tmp_path / "supportbot.toml").write_text('[storage]\nurl = "sqlite:///:memory:"\n',
                                             encoding="utf-8")
    assert target_from_settings(None, env={}, cwd=tmp_path) is None  # nobody else sees it
    config.write_text("[storage\n", encoding="utf-8")  # the full path says what is wrong
    assert target_from_settings(config, env={}, cwd=tmp_path) is None
    assert target_from_settings(tmp_path / "missing.toml", env={}, cwd=tmp_path) is None
    assert target_of("mysql://x/y", None) is None


_PROBE = """
import json, sys
from adapters.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def _ingest(config: Path, data: bytes) -> tuple[int, str, set[str]]:
    done = subprocess.run([sys.executable, "-c", _PROBE, "--config", str(config), "ingest"],
                          input=data, cwd=config.parent, env=clean_env(), capture_output=True,
                          timeout=60, check=False)
    report = json.loads(done.stderr.decode().strip().splitlines()[-1])
    return report["code"], done.stdout.decode(), set(report["modules"])


@pytest.fixture
def config(tmp_path: Path, database: Database) -> Path:
    path = tmp_path / "supportbot.toml"
    path.write_text(storage_toml(database) + f"""
[smtp]
port = {free_port()}

[mail]
support_addresses = ["support@provider.example"]

[[clients]]
name = "nightowl"
policy = "demo247"
email_domains = ["nightowl.example"]
""", encoding="utf-8")
    return path


def test_ingest_leaves_its_mail_to_the_running_bot(config: Path) -> None:
    bot = BotProcess(config, "run")
    bot.start()
    try:
        code, out, modules = _ingest(config, RAW)
        assert code == 0, out
        assert "pending, the running bot processes it" in out
        # stored without SQLAlchemy, the settings' models or the mail pipeline
        assert not {"sqlalchemy", "sqlmodel", "pydantic", "adapters.bootstrap",
                    "bot.mail.parse"} & modules
        deadline = time.monotonic() + 30  # the worker sweeps pending mail every 10 s
        while not (listed := cli_json(config, "tickets", "list")):
            assert time.monotonic() < deadline, bot.log()
            time.sleep(0.25)
        assert [t["subject"] for t in listed] == ["Reports slow for some users"]
    finally:
        assert bot.stop() == 0
        bot.close()
    # no bot any more: the command processes the next message itself
    code, out, modules = _ingest(config, RAW.replace(b"fast-1", b"fast-2")
                                 .replace(b"slow for", b"slower for"))
    assert code == 0 and "registered" in out, out
    assert len(cli_json(config, "tickets", "list")) == 2
