"""``supportbot tickets link REF``: the status page link staff can give a client by phone."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

from adapters.bootstrap import bootstrap
from adapters.storage import Database
from bot.links import STATUS
from bot.model import reference_of
from config.settings import load_settings
from tests.clientweb import SECRET
from tests.procs import SUPPORTBOT, clean_env, storage_toml


def _run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SUPPORTBOT), "--config", str(config), *args], cwd=config.parent,
                          env=clean_env(), capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, check=False)


def test_tickets_link_prints_a_status_link_of_that_ticket(tmp_path: Path,
                                                         database: Database) -> None:
    config = tmp_path / "supportbot.toml"
    base = storage_toml(database) + '[[clients]]\nname = "acme"\npolicy = "panenco"\n'
    config.write_text(base, encoding="utf-8")
    settings = load_settings(config, env={}, cwd=tmp_path)
    app = bootstrap(settings)
    try:
        ref = app.helpdesk.register(subject="Phone report", client="acme").reference
    finally:
        app.close()
    off = _run(config, "tickets", "link", ref)
    assert off.returncode != 0 and off.stdout == ""
    assert "client_links.secret" in off.stderr and "Traceback" not in off.stderr
    config.write_text(base + '[web]\nenabled = true\npublic_url = "https://bot.example.com"\n'
                      f'[client_links]\nsecret = "{SECRET}"\n', encoding="utf-8")
    on = _run(config, "tickets", "link", ref)
    assert on.returncode == 0, on.stderr
    url = on.stdout.strip()
    assert url.startswith("https://bot.example.com/status/")
    app = bootstrap(load_settings(config, env={}, cwd=tmp_path))
    try:
        assert app.links is not None
        read = app.links.read(url.rsplit("/", 1)[1], STATUS, datetime.now(UTC))
        assert read is not None and reference_of(read.ticket_id) == ref
    finally:
        app.close()
    missing = _run(config, "tickets", "link", "T-9999")
    assert missing.returncode == 1 and "T-9999" in missing.stderr
