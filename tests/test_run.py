"""``supportbot run`` as a real process: it starts, and stops cleanly on a signal; a store it
cannot reach ends it with one line. (Its reminders: ``test_reminder_run.py``.)

Tickets are seeded through the real services with a clock set in the past (time cannot be moved
inside the subprocess); the runner sees them as any other ticket in the store.
"""

from __future__ import annotations

import json
import re
import signal
import smtplib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.storage import Database
from config.settings import load_settings
from tests.procs import SUPPORTBOT, BotProcess, clean_env, free_port, storage_toml


@pytest.fixture
def config(tmp_path: Path, database: Database) -> Path:
    text = storage_toml(database) + f"""
[smtp]
port = {free_port()}

[mail]
support_addresses = ["support@provider.example"]
""" + """
[scheduler]
sweep_seconds = 1

[log]
level = "INFO"

[[clients]]
name = "nightowl"
policy = "demo247"
email_domains = ["nightowl.example"]
"""
    path = tmp_path / "supportbot.toml"
    path.write_text(text, encoding="utf-8")
    return path


def start_bot(config: Path) -> BotProcess:
    """``supportbot run`` started; the test waits for what it needs in the log."""
    bot = BotProcess(config, "run")
    bot.start(wait=False)
    return bot


@pytest.fixture
def running(config: Path) -> Iterator[BotProcess]:
    r = start_bot(config)
    try:
        yield r
    finally:
        r.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_run_starts_and_stops_cleanly_on_a_signal(config: Path, running: BotProcess,
                                                  sig: signal.Signals) -> None:
    (line,) = running.wait_for(r"^\S+ INFO supportbot\.run: supportbot running .*$")
    assert "clients=1 default_policy=panenco scheduler=True" in line.group(0)
    assert running.stop(sig) == 0, running.log()
    log = running.log()
    assert re.search(r"^\S+ INFO supportbot\.run: supportbot stopped$", log, re.MULTILINE), log
    assert log.index("supportbot running") < log.index("supportbot stopped")


def test_run_with_an_unreachable_database_ends_with_one_line(tmp_path: Path) -> None:
    port = free_port()  # nobody listens there
    config = tmp_path / "supportbot.toml"
    config.write_text(f'[storage]\nurl = "postgresql://postgres@127.0.0.1:{port}/supportbot"\n',
                      encoding="utf-8")
    p = subprocess.run([str(SUPPORTBOT), "--config", str(config), "run"], cwd=tmp_path,
                       env=clean_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=60, check=False)
    assert p.returncode == 1, p
    assert "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("supportbot: error: ")
    assert f"127.0.0.1:{port}" in lines[0] or f"port {port}" in lines[0]
    assert "supportbot running" not in p.stderr and p.stdout == ""


def test_mail_sent_to_the_running_bot_becomes_an_acknowledged_ticket(config: Path) -> None:
    settings = load_settings(config, env={}, cwd=config.parent)
    running = start_bot(config)
    try:
        running.wait_for(r"SMTP intake listening")
        with smtplib.SMTP("127.0.0.1", settings.smtp.port, timeout=30) as c:
            c.sendmail("ops@nightowl.example", ["support@provider.example"],
                       b"From: ops@nightowl.example\r\nTo: support@provider.example\r\n"
                       b"Subject: Site down\r\nMessage-ID: <run-1@nightowl.example>\r\n\r\n"
                       b"All users are blocked, no workaround.\r\n")
        running.wait_for(r"mail processed .*state=done action=registered; acknowledged "
                         r"ticket=T-1001")
        assert running.stop() == 0
        log = running.log()
    finally:
        running.close()
    assert "no outbound relay configured" in log
    out = subprocess.run([str(SUPPORTBOT), "--config", str(config), "outbox", "list", "--json"],
                         cwd=config.parent, env=clean_env(), capture_output=True, text=True,
                         timeout=60, check=True)
    [ack] = json.loads(out.stdout)
    assert (ack["state"], ack["purpose"], ack["to"]) == ("pending", "ack",
                                                         ["ops@nightowl.example"])
    assert ack["subject"].startswith("[T-1001] ")


def ingest(config: Path, data: bytes, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SUPPORTBOT), "--config", str(config), "ingest", *extra],
                          input=data.decode("latin-1"), cwd=config.parent, env=clean_env(),
                          capture_output=True, text=True, timeout=60, check=False)


def test_the_mta_pipe_exit_codes(config: Path, tmp_path: Path) -> None:
    ok = ingest(config, b"From: ops@nightowl.example\r\nSubject: Reports slow for some "
                        b"users\r\nMessage-ID: <pipe-1@nightowl.example>\r\n\r\nslow\r\n")
    assert ok.returncode == 0, ok
    assert "registered; acknowledged (T-1001)" in ok.stdout
    again = ingest(config, b"From: ops@nightowl.example\r\nSubject: Reports slow for some "
                           b"users\r\nMessage-ID: <pipe-1@nightowl.example>\r\n\r\nslow\r\n")
    assert again.returncode == 0 and "duplicate" in again.stdout
    never = ingest(config, b"")  # nothing at all: it can never be taken
    assert never.returncode == 65, never
    listed = subprocess.run([str(SUPPORTBOT), "--config", str(config), "quarantine", "list"],
                            cwd=config.parent, env=clean_env(), capture_output=True, text=True,
                            timeout=60, check=True)
    assert len(listed.stdout.strip().splitlines()) == 1
    # storage down: the MTA must keep the message and retry
    down = tmp_path / "down.toml"
    down.write_text(f'[storage]\nurl = "postgresql://postgres@127.0.0.1:{free_port()}/x"\n',
                    encoding="utf-8")
    failed = ingest(down, b"From: a@b.example\r\n\r\nx\r\n")
    assert failed.returncode == 75, failed
    assert "try again later" in failed.stderr


def _run_once(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SUPPORTBOT), "--config", str(config), "run"], cwd=config.parent,
                          env=clean_env(), stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=60, check=False)


@pytest.mark.parametrize("section", ["smtp", "web"])
def test_run_with_its_port_taken_ends_with_one_line_naming_the_key(
        tmp_path: Path, database: Database, section: str) -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:  # another process has the port
        port = taken.getsockname()[1]
        ports = {"smtp": free_port(), "web": free_port(), section: port}
        config = tmp_path / "supportbot.toml"
        config.write_text(storage_toml(database) + f"""
[smtp]
port = {ports["smtp"]}

[web]
enabled = true
port = {ports["web"]}

[log]
level = "WARNING"
""", encoding="utf-8")
        p = _run_once(config)
    assert p.returncode == 1, p
    assert "Traceback" not in p.stderr and p.stdout == ""
    [line] = p.stderr.strip().splitlines()
    assert line == (f"supportbot: error: cannot listen on 127.0.0.1:{port} for {section}.port "
                    f"(settings from {config}): address already in use")
