"""``supportbot import mbox|maildir``: a mailbox's history in as tickets at their own dates,
answered to nobody (no acknowledgement, no Slack post, no page), deduplicated against what is
stored, resumable after --limit or Ctrl-C, bad messages quarantined. Through the real CLI on
mailboxes built from ``../shared/corpus``."""

from __future__ import annotations

import contextlib
import json
import mailbox
import os
import signal
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from adapters.storage import Database
from adapters.storage.tables import InboundRow
from tests.conftest import make_database
from tests.procs import SUPPORTBOT, clean_env, run_main, storage_toml

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"

P1 = (b"From: jo@acme.example\r\nTo: support@localhost\r\n"
      b"Subject: Production down: checkout fails for all users\r\n"
      b"Date: Mon, 02 Mar 2026 10:00:00 +0100\r\nMessage-ID: <p1-history@acme.example>\r\n"
      b"\r\nProduction is down, all users get errors at checkout, no workaround.\r\n")
FUTURE = (b"From: kim@acme.example\r\nTo: support@localhost\r\nSubject: Invoice layout\r\n"
          b"Date: Fri, 01 Jan 2099 09:00:00 +0000\r\nMessage-ID: <future@acme.example>\r\n"
          b"\r\nThe invoice layout is slightly off.\r\n")
REPLY = (b"From: jo@acme.example\r\nTo: support@localhost\r\nSubject: Re: Production down\r\n"
         b"Date: Mon, 02 Mar 2026 10:30:00 +0100\r\nMessage-ID: <p1-reply@acme.example>\r\n"
         b"In-Reply-To: <p1-history@acme.example>\r\n\r\nIt is back for some users.\r\n")

SETTINGS = """
[web]
enabled = true
port = 1
public_url = "https://bot.example"

[slack]
enabled = true
bot_token = "xoxb-test"
signing_secret = "s3cret"
api_base_url = "http://127.0.0.1:1/api/"
triage_channel = "CTRIAGE"

[twilio]
enabled = true
account_sid = "AC00000000000000000000000000000000"
auth_token = "t0ken"
from_number = "+3225550100"
api_base_url = "http://127.0.0.1:1"

[oncall]
numbers = ["+32475123456"]

[[clients]]
name = "acme"
email_domains = ["acme.example"]
"""
"""Slack and Twilio on (never reached: the CLI sends nothing itself), so that the listeners
that would post and page are there."""


def corpus_messages() -> list[bytes]:
    """Every message of the shared corpus, bounces and malformed ones included."""
    rows = (CORPUS / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return [(CORPUS / row.split("\t")[0]).read_bytes() for row in rows]


def write_mbox(path: Path, messages: list[bytes]) -> Path:
    box = mailbox.mbox(path)
    for raw in messages:
        box.add(raw)
    box.flush()
    box.close()
    return path


def write_config(path: Path, database: Database) -> Path:
    path.write_text(storage_toml(database) + SETTINGS, encoding="utf-8")
    return path


@pytest.fixture
def config(tmp_path: Path, database: Database) -> Path:
    return write_config(tmp_path / "supportbot.toml", database)


def summary(out: str) -> dict[str, int]:
    """The counts of the summary line."""
    line = out.strip().splitlines()[-1].replace("imported before", "before")
    words = line.replace(",", "").replace("(", "").replace(")", "").replace(":", "").split()
    counts = {words[i + 1]: int(words[i]) for i in range(len(words) - 1)
              if words[i].isdigit()}
    return counts


def tickets(capsys: pytest.CaptureFixture[str], config: Path) -> list[dict[str, object]]:
    code, out, err = run_main(capsys, config, "tickets", "list", "--json", "--limit", "10000")
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def show(capsys: pytest.CaptureFixture[str], config: Path, ref: str) -> dict[str, object]:
    code, out, err = run_main(capsys, config, "tickets", "show", ref, "--json")
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def outbox(capsys: pytest.CaptureFixture[str], config: Path) -> list[object]:
    rows = []
    for kind in ("mail", "slack"):
        code, out, err = run_main(capsys, config, "outbox", "list", "--kind", kind, "--json")
        assert code == 0, err
        rows += json.loads(out)
    return rows


def pending(database: Database) -> int:
    with database.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(InboundRow.__table__).where(
            InboundRow.__table__.c.state == "pending")).scalar_one())


def test_live_mail_of_the_same_p1_is_answered_posted_and_paged(
        capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path) -> None:
    """The control: what the import must not do is what ingest does with this settings file."""
    (tmp_path / "p1.eml").write_bytes(P1)
    code, _, err = run_main(capsys, config, "ingest", str(tmp_path / "p1.eml"))
    assert code == 0, err
    kinds = {e["kind"] for e in show(capsys, config, "T-1001")["events"]}  # type: ignore
    assert "page_started" in kinds or "page-started" in kinds, kinds
    assert len(outbox(capsys, config)) >= 2  # the acknowledgement and the triage post


def test_an_mbox_comes_in_at_its_own_dates_answered_to_nobody(
        capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path,
        database: Database) -> None:
    box = write_mbox(tmp_path / "history.mbox", [P1, REPLY, FUTURE, *corpus_messages()])
    code, out, err = run_main(capsys, config, "import", "mbox", str(box))
    assert code == 0, err
    counts = summary(out)
    assert counts["messages"] == 3 + len(corpus_messages())
    assert counts["taken"] > 50 and counts["quarantined"] > 0 and counts["ignored"] > 0
    assert sum(counts[k] for k in ("taken", "duplicates", "quarantined", "ignored")) \
        == counts["messages"]
    assert "messages" in err  # progress on stderr (lines: stderr is no terminal here)

    p1 = show(capsys, config, "T-1001")
    assert p1["priority"] == "P1" and p1["created_at"] == "2026-03-02T09:00:00+00:00"
    events = p1["events"]
    assert isinstance(events, list)
    kinds = [e["kind"] for e in events]
    assert not any("page" in k for k in kinds), kinds  # on-call was not called for history
    follow = [e for e in events if e["kind"] in ("message_received", "message-received")]
    assert [e["at"] for e in follow] == ["2026-03-02T09:30:00+00:00"]  # the reply, threaded
    assert any("not acknowledged: imported" in json.dumps(e["data"]) for e in events)
    future = show(capsys, config, "T-1002")
    created = datetime.fromisoformat(str(future["created_at"]))
    assert created <= datetime.now(UTC)  # a date in the future is taken as now
    assert outbox(capsys, config) == []  # no acknowledgement, no Slack post
    code, out, _ = run_main(capsys, config, "quarantine", "list", "--json")
    assert len(json.loads(out)) == counts["quarantined"]
    assert pending(database) == 0

    again_code, again, _ = run_main(capsys, config, "import", "mbox", str(box))
    assert again_code == 0
    assert summary(again) == {**summary(again), "taken": 0, "quarantined": 0,
                              "duplicates": counts["messages"], "before": counts["messages"]}
    code, out, _ = run_main(capsys, config, "quarantine", "list", "--json")
    assert len(json.loads(out)) == counts["quarantined"]  # not quarantined twice


def test_a_limited_run_goes_on_where_it_stopped(
        capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path,
        database: Database) -> None:
    messages = corpus_messages()
    box = write_mbox(tmp_path / "history.mbox", messages)
    code, out, err = run_main(capsys, config, "import", "mbox", str(box), "--limit", "40")
    assert code == 0, err
    first = summary(out)
    assert first["messages"] == 40
    code, out, err = run_main(capsys, config, "import", "mbox", str(box))
    assert code == 0, err
    rest = summary(out)
    assert rest["before"] == 40 and rest["messages"] == len(messages)
    # the same tickets as one whole run into a fresh database of the same kind
    whole = tmp_path / "whole"
    whole.mkdir()
    other = make_database(whole)
    other.upgrade()
    try:
        other_config = write_config(whole / "supportbot.toml", other)
        code, out, _ = run_main(capsys, other_config, "import", "mbox", str(box))
        assert summary(out)["taken"] == first["taken"] + rest["taken"]
        assert [t["subject"] for t in tickets(capsys, config)] \
            == [t["subject"] for t in tickets(capsys, other_config)]
    finally:
        other.drop_schema()
        other.dispose()


def test_a_maildir_is_imported_and_a_folder_that_is_none_is_refused(
        capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path) -> None:
    md = mailbox.Maildir(tmp_path / "Maildir", create=True)
    for raw in (P1, REPLY, b"no header here, just text\r\n"):
        md.add(raw)
    code, out, err = run_main(capsys, config, "import", "maildir", str(tmp_path / "Maildir"))
    assert code == 0, err
    assert summary(out) == {**summary(out), "messages": 3, "quarantined": 1}
    assert [t["reference"] for t in tickets(capsys, config)] == ["T-1001"]
    assert outbox(capsys, config) == []
    code, _, err = run_main(capsys, config, "import", "maildir", str(tmp_path))
    assert code == 2 and "is not a maildir" in err


def test_ctrl_c_stops_cleanly_and_the_next_run_goes_on(
        capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path,
        database: Database) -> None:
    many = [P1.replace(b"p1-history", b"m%d" % n).replace(b"checkout fails",
                                                          b"report %d fails" % n)
            for n in range(400)]
    box = write_mbox(tmp_path / "many.mbox", many)
    proc = subprocess.Popen([str(SUPPORTBOT), "--config", str(config), "import", "mbox",
                             str(box)], env=clean_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    assert proc.stderr is not None
    line = proc.stderr.readline()  # the first progress line: 40 of 400 are in
    assert "/400 messages" in line, line
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    assert out.startswith("interrupted: ") and "run the same command again" in out
    done = summary(out)["messages"]
    assert 40 <= done < 400
    assert pending(database) == 0  # the message being taken is in or out, never half
    code, out, err = run_main(capsys, config, "import", "mbox", str(box))
    assert code == 0, err
    assert summary(out)["before"] >= done
    assert len(tickets(capsys, config)) == 400


def test_deadlines_that_passed_before_the_import_are_never_reminded(
        capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path) -> None:
    """An old P1 would otherwise be reminded (on-call by SMS, Slack) at once and every hour."""
    recent = format_datetime(datetime.now(UTC) - timedelta(minutes=5))
    fresh = (b"From: kim@acme.example\r\nTo: support@localhost\r\nSubject: Invoice layout\r\n"
             b"Date: " + recent.encode() + b"\r\nMessage-ID: <recent@acme.example>\r\n"
             b"\r\nThe invoice layout is slightly off.\r\n")
    box = write_mbox(tmp_path / "history.mbox", [P1, fresh])
    code, out, err = run_main(capsys, config, "import", "mbox", str(box))
    assert code == 0 and summary(out)["taken"] == 2, err
    code, out, err = run_main(capsys, config, "reminders", "list", "--within", "720h")
    assert code == 0, err
    planned = out.split("Recorded", 1)[0]
    assert "T-1001/" not in planned  # the P1 of March: its deadlines are history
    assert "T-1002/response/" in planned  # due after the import: reminded as any ticket


def test_on_a_terminal_progress_is_a_bar(config: Path, tmp_path: Path) -> None:
    box = write_mbox(tmp_path / "history.mbox", [P1, REPLY, FUTURE])
    master, slave = os.openpty()
    proc = subprocess.Popen([str(SUPPORTBOT), "--config", str(config), "import", "mbox",
                             str(box)], env=clean_env(), stdout=subprocess.PIPE, stderr=slave,
                            text=True, cwd=tmp_path)
    os.close(slave)
    chunks: list[bytes] = []

    def read() -> None:  # while it runs: a closed terminal may drop what was not read
        with contextlib.suppress(OSError):  # EIO once the other side is closed
            while chunk := os.read(master, 4096):
                chunks.append(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    out, _ = proc.communicate(timeout=60)
    reader.join(timeout=10)
    os.close(master)
    seen = b"".join(chunks)
    assert proc.returncode == 0 and summary(out)["taken"] == 3  # the reply is a follow-up
    assert b"\r" in seen and b"3/3" in seen and b"100%" in seen  # redrawn in place
    assert b"messages (" not in seen  # not the lines meant for logs


def test_an_imported_message_retried_from_quarantine_is_still_history(
        capsys: pytest.CaptureFixture[str], config: Path) -> None:
    """Quarantined by an import (a processing failure, say), retried after a fix: the retry
    goes through the bot's full helpdesk, and still answers, posts and pages nobody."""
    from adapters.bootstrap import bootstrap
    from adapters.mail.history import CHANNEL, history_key
    from config.settings import load_settings

    app = bootstrap(load_settings(config))
    try:
        with app.uow() as uow:
            now = app.clock.now()
            inbound_id = uow.inbound.add(P1, key=history_key(P1), channel=CHANNEL,
                                         peer="mbox:/old.mbox", at=now)
            uow.inbound.failed(inbound_id, "RuntimeError: a bug", at=now, max_attempts=1)
            uow.commit()
    finally:
        app.close()
    code, out, err = run_main(capsys, config, "quarantine", "retry", str(inbound_id))
    assert code == 0 and "done, registered; not acknowledged: imported" in out, err
    p1 = show(capsys, config, "T-1001")
    assert p1["created_at"] == "2026-03-02T09:00:00+00:00"
    kinds = [e["kind"] for e in p1["events"]]  # type: ignore[attr-defined]
    assert "imported" in kinds and not any("page" in k for k in kinds), kinds
    assert outbox(capsys, config) == []
