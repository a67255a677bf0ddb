"""The mail commands of the CLI: ingest, quarantine list/show/retry/drop, outbox list/show."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.storage import Database
from tests.procs import run_main, storage_toml

GOOD = (b"From: jo@acme.example\r\nTo: support@localhost\r\nSubject: Export fails\r\n"
        b"Message-ID: <q1@acme.example>\r\n\r\nThe export fails for some users.\r\n")


@pytest.fixture
def config(tmp_path: Path, database: Database) -> Path:
    text = storage_toml(database) + '[[clients]]\nname = "acme"\nemail_domains = ["acme.example"]\n'
    path = tmp_path / "supportbot.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_quarantine_keeps_what_cannot_be_taken_until_staff_decide(
        capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.eml"
    empty.write_bytes(b"")
    code, out, _ = run_main(capsys, config, "ingest", str(empty))
    assert code == 65 and "quarantined" in out
    code, out, _ = run_main(capsys, config, "quarantine", "list", "--json")
    [item] = json.loads(out)
    assert item["reason"] and item["size"] == 0
    qid = str(item["id"])
    code, out, _ = run_main(capsys, config, "quarantine", "show", qid)
    assert code == 0 and out.startswith(f"reason: {item['reason']}")
    # retrying an unparseable message quarantines it again, with its reason kept
    code, out, _ = run_main(capsys, config, "quarantine", "retry", qid)
    assert code == 0 and f"{qid}: quarantined" in out
    code, out, _ = run_main(capsys, config, "quarantine", "drop", qid, "--actor", "alice")
    assert (code, out) == (0, f"{qid}: dropped\n")
    code, out, _ = run_main(capsys, config, "quarantine", "list")
    assert out == "quarantine empty\n"
    code, out, _ = run_main(capsys, config, "quarantine", "show", qid)  # the raw bytes stay
    assert code == 0 and out.startswith("reason: dropped by alice")
    code, _, err = run_main(capsys, config, "quarantine", "retry", qid)
    assert code == 1 and f"message {qid} is not quarantined" in err
    code, _, err = run_main(capsys, config, "quarantine", "show", "424242")
    assert code == 1 and "no quarantined message 424242" in err


def test_ingest_registers_and_the_acknowledgement_waits_in_the_outbox(
        capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.eml"
    good.write_bytes(GOOD)
    code, out, _ = run_main(capsys, config, "ingest", str(good))
    assert code == 0 and "done, registered; acknowledged (T-1001)" in out
    code, out, _ = run_main(capsys, config, "outbox", "list", "--json")
    [mail] = json.loads(out)
    assert (mail["state"], mail["purpose"], mail["to"]) == ("pending", "ack", ["jo@acme.example"])
    code, out, _ = run_main(capsys, config, "outbox", "show", str(mail["id"]))
    assert code == 0 and "state: pending" in out and "Subject: [T-1001] Re: Export fails" in out
    assert "Auto-Submitted: auto-replied" in out
    code, out, _ = run_main(capsys, config, "tickets", "reply", "T-1001", "--message", "On it.",
                       "--actor", "alice", "--json")
    assert json.loads(out)["clocks"]["response"]["status"] == "met"
    code, out, _ = run_main(capsys, config, "outbox", "list")
    assert [line.split()[2] for line in out.splitlines()] == ["reply", "ack"]
    code, _, err = run_main(capsys, config, "outbox", "show", "999")
    assert code == 1 and "no outbox mail 999" in err


def _inbound_count(database: Database) -> int:
    from sqlmodel import select

    from adapters.storage.tables import InboundRow

    with database.session() as s:
        return len(list(s.exec(select(InboundRow))))


def test_ingest_65_tells_the_mta_why_on_stderr(
        capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.eml"
    empty.write_bytes(b"")
    code, out, err = run_main(capsys, config, "ingest", str(empty))
    assert code == 65 and "quarantined" in out
    # one line the MTA puts in its bounce: what was wrong, and where the message is kept
    [line] = err.splitlines()
    code, listed, _ = run_main(capsys, config, "quarantine", "list", "--json")
    [item] = json.loads(listed)
    assert line.startswith("supportbot: error: message not taken: ")
    assert item["reason"] in line and f"quarantine show {item['id']}" in line


def test_ingest_of_a_missing_file_is_a_usage_error_not_a_retry(
        capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path,
        database: Database) -> None:
    missing = tmp_path / "nowhere.eml"
    code, out, err = run_main(capsys, config, "ingest", str(missing))
    assert code == 64, err  # EX_USAGE: an MTA bounces it instead of retrying for ever
    assert out == ""
    [line] = err.splitlines()
    assert line.startswith("supportbot: error: ") and str(missing) in line
    assert "No such file" in line
    code, _, err = run_main(capsys, config, "ingest", str(tmp_path))  # a directory
    assert code == 64 and "Is a directory" in err
    assert _inbound_count(database) == 0
