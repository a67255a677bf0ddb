"""``supportbot import imap [--folder F]`` against a real Dovecot on free ports: the folder's
history comes in at the messages' dates, answered to nobody, read only (nothing marked seen),
and a second run takes nothing new."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.storage import Database
from tests.conftest import missing_peer
from tests.imap_servers import (
    HOST,
    ImapAccount,
    ImapServer,
    ServerUnavailable,
    make_certificate,
    running_server,
)
from tests.procs import run_main, storage_toml
from tests.test_import import FUTURE, P1, REPLY, outbox, show, summary


@pytest.fixture(scope="module")
def dovecot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImapServer]:
    try:
        certificate = make_certificate(tmp_path_factory.mktemp("imap-tls"))
        with running_server("dovecot", tmp_path_factory.mktemp("dovecot"),
                            certificate) as server:
            yield server
    except ServerUnavailable as e:
        missing_peer(f"Dovecot: {e}")


@pytest.fixture
def account(dovecot: ImapServer) -> ImapAccount:
    try:
        return dovecot.account()
    except ServerUnavailable as e:
        missing_peer(f"Dovecot: {e}")
        raise


def config_for(tmp_path: Path, database: Database, account: ImapAccount) -> Path:
    path = tmp_path / "supportbot.toml"
    path.write_text(storage_toml(database) + f"""
[imap]
host = "{HOST}"
port = {account.port}
username = "{account.username}"
password = "{account.password}"
security = "none"

[[clients]]
name = "acme"
email_domains = ["acme.example"]
""", encoding="utf-8")
    return path


def test_a_folder_comes_in_read_only_at_its_dates(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, database: Database,
        account: ImapAccount) -> None:
    for raw in (P1, REPLY, b"no header here, just text\r\n"):
        account.append(raw)
    account.append(FUTURE, folder="Archive")
    config = config_for(tmp_path, database, account)
    code, out, err = run_main(capsys, config, "import", "imap")
    assert code == 0, err
    assert summary(out) == {**summary(out), "messages": 3, "taken": 2, "quarantined": 1}
    p1 = show(capsys, config, "T-1001")
    assert p1["created_at"] == "2026-03-02T09:00:00+00:00"
    assert outbox(capsys, config) == []
    assert all(b"\\Seen" not in flags for _, flags in account.messages().values())

    code, out, _ = run_main(capsys, config, "import", "imap")
    assert summary(out) == {**summary(out), "taken": 0, "before": 3}
    code, out, err = run_main(capsys, config, "import", "imap", "--folder", "Archive")
    assert code == 0 and summary(out)["taken"] == 1, err
    code, _, err = run_main(capsys, config, "import", "imap", "--folder", "Nowhere")
    assert code == 1 and "no folder 'Nowhere'" in err


def test_without_an_imap_account_the_setting_is_named(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, database: Database) -> None:
    config = tmp_path / "supportbot.toml"
    config.write_text(storage_toml(database), encoding="utf-8")
    code, _, err = run_main(capsys, config, "import", "imap")
    assert code == 2 and f"{config}: imap.host:" in err, err
    assert err.count("\n") == 1  # one line, no traceback
