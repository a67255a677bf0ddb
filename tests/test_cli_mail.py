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


def _mboxed(n: int, subject: str, body: str) -> bytes:
    return (f"From jo{n}@acme.example Mon Nov 30 1{n}:00:00 2026\nFrom: jo{n}@acme.example\n"
            f"To: support@localhost\nSubject: {subject}\nMessage-ID: <mb{n}@acme.example>\n\n"
            f"{body}\n\n").encode()


def test_ingest_of_an_mbox_takes_each_message(
        capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path,
        database: Database) -> None:
    from sqlmodel import col, select

    from adapters.storage.tables import InboundRow

    messages = [_mboxed(1, "Export fails", "The export fails.\n\nFrom what I see, since Monday."),
                _mboxed(2, "Login broken", "Nobody can log in.\n>From the log: 403."),
                _mboxed(3, "Typo on the invoice", "A typo.")]
    mbox = tmp_path / "backlog.mbox"
    mbox.write_bytes(b"".join(messages))
    code, out, err = run_main(capsys, config, "ingest", str(mbox))
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "3 messages (an mbox): each is taken on its own"
    assert [line.rsplit(" ", 1)[1] for line in out.splitlines()[1:]] == [
        "(T-1001)", "(T-1002)", "(T-1003)"]
    code, listed, _ = run_main(capsys, config, "tickets", "list", "--json")
    subjects = {t["reference"]: t["subject"] for t in json.loads(listed)}
    assert subjects == {"T-1001": "Export fails", "T-1002": "Login broken",
                        "T-1003": "Typo on the invoice"}
    with database.session() as s:
        rows = list(s.exec(select(InboundRow).order_by(col(InboundRow.id))))
    assert [r.raw for r in rows] == messages  # each kept raw, as it was in the mbox
    # the same mbox again (an MTA retrying, say) changes nothing
    code, out, _ = run_main(capsys, config, "ingest", str(mbox))
    assert code == 0 and out.count("duplicate") == 3


def test_ingest_of_an_mbox_with_a_bad_message_takes_the_others_and_says_which(
        capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path) -> None:
    junk = b"From x@acme.example Mon Nov 30 12:00:00 2026\nX-Dump: 1\n\n" + b"\x00\x01" * 200
    mbox = tmp_path / "backlog.mbox"
    mbox.write_bytes(_mboxed(1, "Export fails", "It fails.") + junk + b"\n\n"
                     + _mboxed(3, "Login broken", "Nobody can log in."))
    code, out, err = run_main(capsys, config, "ingest", str(mbox))
    assert code == 65
    assert "(T-1001)" in out and "(T-1002)" in out and out.count("quarantined") == 1
    [line] = err.splitlines()
    assert line.startswith("supportbot: error: message 2 of 3 not taken: ")
    assert "binary data, not a mail message" in line
    assert "supportbot quarantine show 2" in line


def test_a_staff_reply_is_signed_by_the_person_or_the_team_never_the_actor_id(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, database: Database) -> None:
    config = tmp_path / "staffed.toml"
    config.write_text(storage_toml(database) + """
[mail]
team_name = "Panenco support"

[[clients]]
name = "acme"
email_domains = ["acme.example"]

[[staff]]
name = "Alice Martin"
email = "alice@provider.example"
""", encoding="utf-8")
    good = tmp_path / "good.eml"
    good.write_bytes(GOOD)
    assert run_main(capsys, config, "ingest", str(good))[0] == 0
    for actor in ("cli:root", "Alice Martin"):
        code, _, err = run_main(capsys, config, "tickets", "reply", "T-1001", "--message",
                                f"Answer for {actor}.", "--actor", actor)
        assert code == 0, err
    code, out, _ = run_main(capsys, config, "outbox", "list", "--json")
    replies = sorted(m["id"] for m in json.loads(out) if m["purpose"] == "reply")
    bodies = [run_main(capsys, config, "outbox", "show", str(i))[1] for i in replies]
    assert "Answer for cli:root.\r\n\r\n-- \r\nPanenco support (T-1001)\r\n" in bodies[0]
    assert "Answer for Alice Martin.\r\n\r\n-- \r\nAlice Martin, Panenco support (T-1001)" \
        in bodies[1]
    assert "cli:root" not in bodies[0].split("-- ")[1]
    # the audit trail keeps who acted
    code, out, _ = run_main(capsys, config, "tickets", "show", "T-1001", "--json")
    assert [e["actor"] for e in json.loads(out)["events"] if e["kind"] == "responded"] == [
        "cli:root", "Alice Martin"]
