"""The ``supportbot`` command line, driven for real: subprocesses of the installed script where the
process boundary matters (exit codes, stderr, the working directory), ``adapters.cli.main`` in
process for the many small cases. Storage is the backend chosen by ``SUPPORTBOT_TEST_DATABASE``.

In-process calls read settings from ``--config FILE`` written here; the ``SUPPORTBOT_*`` variables
of the test run itself (``SUPPORTBOT_TEST_DATABASE`` above all) are removed for them, because
``load_settings`` would take them as settings.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.bootstrap import bootstrap
from adapters.cli import main
from adapters.storage import SCHEMA_VERSION, Database
from bot.clock import ManualClock
from bot.priority import Priority
from config.settings import load_settings

SUPPORTBOT = Path(sys.executable).parent / "supportbot"
POLICIES = Path(__file__).resolve().parents[1] / "config" / "policies"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$")


# -- fixtures and helpers -----------------------------------------------------------------------


@dataclass(frozen=True)
class Store:
    """Where the CLI under test keeps its data: a SQLite file or a PostgreSQL schema."""

    url: str
    schema: str | None

    def env(self) -> dict[str, str]:
        out = {"SUPPORTBOT_STORAGE__URL": self.url}
        if self.schema:
            out["SUPPORTBOT_STORAGE__SCHEMA"] = self.schema
        return out

    def toml(self) -> str:
        text = f"[storage]\nurl = {json.dumps(self.url)}\n"
        if self.schema:
            text += f"schema = {json.dumps(self.schema)}\n"
        return text


@pytest.fixture
def store(database: Database) -> Store:
    """The test database (already at the current schema), for the CLI to open by URL."""
    return Store(database.url.render_as_string(hide_password=False), database.schema)


@pytest.fixture
def blank_store(database: Database, tmp_path: Path) -> Iterator[Store]:
    """A store nobody has created a schema in yet (same backend as ``database``)."""
    if database.dialect == "sqlite":
        yield Store(f"sqlite:///{tmp_path / 'blank.db'}", None)
        return
    s = Store(database.url.render_as_string(hide_password=False), f"t_{uuid.uuid4().hex[:16]}")
    try:
        yield s
    finally:
        db = Database(s.url, schema=s.schema)
        db.drop_schema()
        db.dispose()


pytestmark = pytest.mark.usefixtures("no_supportbot_env")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a subprocess: ours without any ``SUPPORTBOT_*``, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}
    env.update(extra)
    return env


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def sub(cwd: Path, env: dict[str, str], *args: str) -> Result:
    p = subprocess.run([str(SUPPORTBOT), *args], cwd=cwd, env=env, capture_output=True,
                       text=True, stdin=subprocess.DEVNULL, timeout=60, check=False)
    return Result(p.returncode, p.stdout, p.stderr)


class Cli:
    """``supportbot --config FILE ...`` in this process."""

    def __init__(self, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.config = config
        self.capsys = capsys

    def __call__(self, *args: str) -> Result:
        self.capsys.readouterr()
        code = main(["--config", str(self.config), *args])
        out, err = self.capsys.readouterr()
        return Result(code, out, err)

    def ok(self, *args: str) -> Any:
        """Run a command that must succeed; its ``--json`` output parsed, else its text."""
        r = self(*args)
        assert (r.code, r.err) == (0, ""), r
        return r.json() if "--json" in args else r.out


def one_line_error(r: Result, code: int) -> str:
    assert r.code == code, r
    assert "Traceback" not in r.err, r.err
    lines = r.err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{r.err}"
    return lines[0]


CLIENTS = """
[[clients]]
name = "acme"
policy = "panenco"
email_domains = ["acme.example"]

[[clients]]
name = "nightowl"
policy = "demo247"
email_domains = ["nightowl.example"]
"""


@pytest.fixture
def config(tmp_path: Path, store: Store) -> Path:
    path = tmp_path / "supportbot.toml"
    path.write_text(store.toml() + CLIENTS, encoding="utf-8")
    return path


@pytest.fixture
def cli(config: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(config, capsys)


@pytest.fixture
def bare_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    """No storage configured (for commands that need none): an empty settings file."""
    path = tmp_path / "empty.toml"
    path.write_text("", encoding="utf-8")
    return Cli(path, capsys)


def register_in_the_past(config: Path, ago: timedelta, **kwargs: Any) -> str:
    """Register a ticket through the real services as if it had come in ``ago`` before now."""
    app = bootstrap(load_settings(config, env={}, cwd=config.parent),
                    clock=ManualClock(datetime.now(UTC) - ago))
    try:
        return app.helpdesk.register(actor="seed", **kwargs).reference
    finally:
        app.close()


def events(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["kind"], e["actor"]) for e in doc["events"]]


# -- a fresh directory, nothing configured ------------------------------------------------------


def test_fresh_directory_registers_lists_and_shows_a_ticket(tmp_path: Path, store: Store) -> None:
    cwd = tmp_path / "fresh"
    cwd.mkdir()
    sqlite = store.url.startswith("sqlite")
    # on SQLite nothing at all is configured: the default ./supportbot.db must appear
    env = clean_env() if sqlite else clean_env(**store.env())

    new = sub(cwd, env, "tickets", "new", "--subject", "Login page broken",
              "--body", "Since this morning nobody can log in.")
    assert (new.code, new.err) == (0, ""), new
    assert new.out.splitlines()[0].split() == ["T-1001", "Login", "page", "broken"]
    if sqlite:
        assert (cwd / "supportbot.db").is_file()

    listed = sub(cwd, env, "tickets", "list")
    assert listed.code == 0, listed
    header, *rows = listed.out.splitlines()
    assert header.split()[:2] == ["TICKET", "PRI"]
    assert len(rows) == 1 and rows[0].startswith("T-1001 ") and "Login page broken" in rows[0]
    assert "response due " in rows[0] and "working time left" in rows[0]

    shown = sub(cwd, env, "tickets", "show", "T-1001", "--json")
    assert shown.code == 0, shown
    doc = shown.json()
    assert doc["reference"] == "T-1001" and doc["client"] is None and doc["policy"] == "panenco"
    assert doc["priority"] in {"P1", "P2", "P3", "P4"}
    assert doc["status"] == "new"
    due = doc["clocks"]["response"]["due"]
    assert ISO.match(due), due
    assert datetime.fromisoformat(due) > datetime.fromisoformat(doc["created_at"])
    assert doc["clocks"]["resolution"]["status"] == "not-started"
    assert [k for k, _ in events(doc)][:2] == ["registered", "priority_set"]
    registered = doc["events"][0]
    assert registered["actor"].startswith("cli:"), "the default actor is cli:$USER"
    assert registered["data"] == {"channel": "cli"}


# -- the staff flow -----------------------------------------------------------------------------


def test_the_whole_staff_flow_is_recorded_with_the_given_actors(cli: Cli) -> None:
    doc = cli.ok("tickets", "new", "--client", "acme", "--subject", "Typo in the footer",
                 "--body", "The footer says 'Copyrigth'.", "--requester", "jo@acme.example",
                 "--actor", "alice", "--json")
    ref = doc["reference"]
    assert ref == "T-1001"
    assert (doc["client"], doc["policy"], doc["status"]) == ("acme", "panenco", "new")
    assert doc["requester"] == "jo@acme.example"
    assert doc["events"][0]["kind"] == "registered" and doc["events"][0]["actor"] == "alice"
    assert doc["clocks"]["response"]["status"] == "running"
    assert doc["priority"] != "P1" and doc["phone_followup"] is None

    doc = cli.ok("tickets", "set-priority", ref, "P1", "--reason", "production checkout down",
                 "--actor", "alice", "--json")
    assert doc["priority"] == "P1"
    assert doc["clocks"]["response"]["target_seconds"] == 2 * 3600  # panenco P1: 2h
    assert doc["phone_followup"] == "pending"
    assert events(doc)[-2:] == [("priority_set", "alice"), ("phone_followup_required", "system")]
    assert doc["events"][-2]["data"]["reason"] == "production checkout down"

    doc = cli.ok("tickets", "respond", ref, "--message", "on it", "--actor", "bob", "--json")
    assert doc["status"] == "open"
    assert doc["clocks"]["response"]["status"] == "met"
    assert doc["clocks"]["response"]["stopped_at"] is not None
    assert events(doc)[-1] == ("responded", "bob")
    assert doc["events"][-1]["data"] == {"message": "on it"}

    doc = cli.ok("ticket", "confirm-cause", ref, "--actor", "carol", "--json")
    assert doc["clocks"]["resolution"]["status"] == "running"
    assert doc["clocks"]["resolution"]["target_seconds"] == 8 * 3600  # panenco P1: 8h
    assert events(doc)[-1] == ("cause_confirmed", "carol")

    doc = cli.ok("tickets", "log-time", ref, "1.5", "--actor", "bob", "--json")
    assert doc["hours_logged"] == 1.5
    assert events(doc)[-1] == ("time_logged", "bob")
    assert doc["events"][-1]["data"] == {"hours": 1.5, "priority": "P1"}

    doc = cli.ok("tickets", "assign", ref, "dave", "--actor", "alice", "--json")
    assert doc["assignee"] == "dave"
    assert doc["events"][-1]["data"] == {"assignee": "dave", "previous": None}

    doc = cli.ok("ticket", "note", ref, "called Jo, sent a hotfix", "--actor", "dave", "--json")
    assert events(doc)[-1] == ("note", "dave")
    assert doc["events"][-1]["data"] == {"text": "called Jo, sent a hotfix"}

    doc = cli.ok("tickets", "confirm-phone", ref, "--actor", "dave", "--json")
    assert doc["phone_followup"] == "confirmed"
    assert events(doc)[-1] == ("phone_followup_confirmed", "dave")

    doc = cli.ok("tickets", "resolve", ref, "--note", "hotfix deployed", "--actor", "dave",
                 "--json")
    assert doc["status"] == "resolved"
    assert doc["clocks"]["resolution"]["status"] == "met"
    assert events(doc)[-1] == ("resolved", "dave")

    doc = cli.ok("tickets", "reopen", ref, "--reason", "still broken on mobile", "--actor",
                 "alice", "--json")
    assert doc["status"] == "open"
    assert doc["clocks"]["resolution"]["status"] == "running"
    assert doc["clocks"]["resolution"]["stopped_at"] is None
    assert doc["events"][-1]["data"] == {"reason": "still broken on mobile"}

    doc = cli.ok("tickets", "resolve", ref, "--actor", "dave", "--json")
    doc = cli.ok("tickets", "close", ref, "--note", "client agreed", "--actor", "alice", "--json")
    assert doc["status"] == "closed"
    assert events(doc)[-1] == ("closed", "alice")

    # the same history is what is stored, and the text view (via the singular alias) shows it
    stored = cli.ok("ticket", "show", ref, "--json")
    assert stored["events"] == doc["events"]
    assert [a for k, a in events(stored) if k not in ("priority_set", "registered")] == [
        "system", "bob", "carol", "bob", "alice", "dave", "dave", "dave", "alice", "dave",
        "alice"]
    text = cli.ok("ticket", "show", ref)
    assert text.startswith("T-1001  Typo in the footer\n")
    assert "status: closed" in text and "assignee: dave" in text
    assert "phone follow-up: confirmed" in text

    # closed is final
    refused = cli("tickets", "assign", ref, "erin", "--actor", "alice")
    assert one_line_error(refused, 1) == "supportbot: error: T-1001 is closed"


def test_register_with_a_staff_priority_from_a_phone_call(cli: Cli) -> None:
    doc = cli.ok("tickets", "new", "--client", "nightowl", "--subject", "Question about invoices",
                 "--body", "How do I download them?", "--priority", "p1",
                 "--reason", "caller says billing is blocked", "--channel", "phone",
                 "--actor", "alice", "--json")
    assert (doc["priority"], doc["channel"], doc["policy"]) == ("P1", "phone", "demo247")
    assert doc["clocks"]["response"]["target_seconds"] == 5 * 60  # demo247 P1: 5m
    assert doc["phone_followup"] == "pending"
    classified, staff = [e for e in doc["events"] if e["kind"] == "priority_set"]
    assert classified["actor"] == "classifier" and classified["data"]["priority"] != "P1"
    assert staff["actor"] == "alice"
    assert staff["data"] == {"priority": "P1", "previous": classified["data"]["priority"],
                             "reason": "caller says billing is blocked"}


def test_a_closed_ticket_has_no_running_clock(cli: Cli) -> None:
    ref = cli.ok("tickets", "new", "--subject", "x", "--priority", "P2", "--json")["reference"]
    cli.ok("tickets", "confirm-cause", ref)
    r = cli("tickets", "close", ref, "--json")
    if r.code == 1:  # refusing to close while clocks run would do as well
        return
    doc = r.json()
    assert doc["status"] == "closed"
    assert {n: c["running"] for n, c in doc["clocks"].items()} == {
        "response": False, "resolution": False}


# -- listing ------------------------------------------------------------------------------------


def test_list_filters_by_open_status_client_and_risk(cli: Cli, config: Path) -> None:
    acme = cli.ok("tickets", "new", "--client", "acme", "--subject", "Export is slow",
                  "--priority", "P3", "--actor", "alice", "--json")["reference"]
    cli.ok("tickets", "respond", acme, "--actor", "alice")
    # registered an hour ago on the 24/7 policy: its 5-minute P1 response target is long gone
    late = register_in_the_past(config, timedelta(hours=1), subject="Site down",
                                client="nightowl", priority=Priority.P1)
    done = cli.ok("tickets", "new", "--client", "nightowl", "--subject", "Question",
                  "--priority", "P4", "--actor", "alice", "--json")["reference"]
    cli.ok("tickets", "resolve", done, "--actor", "alice")
    unassigned = cli.ok("tickets", "new", "--subject", "Who am I?", "--priority", "P4",
                        "--json")["reference"]
    assert [acme, late, done, unassigned] == ["T-1001", "T-1002", "T-1003", "T-1004"]

    def refs(*args: str) -> list[str]:
        return [d["reference"] for d in cli.ok("tickets", "list", *args, "--json")]

    assert refs() == [unassigned, done, late, acme]  # newest first
    assert refs("--open") == [unassigned, late, acme]
    assert refs("--status", "resolved") == [done]
    assert refs("--status", "resolved", "--status", "new") == [unassigned, done, late]
    assert refs("--client", "acme") == [acme]
    assert refs("--client", "nightowl", "--open") == [late]
    assert refs("--at-risk") == [late]
    assert refs("--limit", "2") == [unassigned, done]

    shown = cli.ok("tickets", "show", late, "--json")
    assert shown["clocks"]["response"]["status"] == "breached"
    title, header, *rows = cli.ok("tickets", "list", "--at-risk").splitlines()
    assert title.startswith("At risk: 1 ticket") and header.startswith("TICKET")
    assert len(rows) == 1 and rows[0].startswith(late) and "response BREACHED: due" in rows[0]
    assert "working time late" in rows[0]  # how late: about 55 minutes
    # a misspelt client is an error, not an empty queue
    assert one_line_error(cli("tickets", "list", "--client", "nobody"), 1) == \
        "supportbot: error: no client named 'nobody'"


# -- sla ----------------------------------------------------------------------------------------


def test_sla_deadline_crosses_christmas_and_the_weekend_in_a_subprocess(tmp_path: Path) -> None:
    r = sub(tmp_path, clean_env(), "sla", "deadline", "--policy", "panenco", "--priority", "P1",
            "--clock", "response", "--start", "2026-12-24T17:00")
    assert (r.code, r.out, r.err) == (0, "2026-12-28T10:00:00+01:00\n", "")


def test_sla_deadline_json_and_naive_start_is_policy_local(bare_cli: Cli) -> None:
    args = ("sla", "deadline", "--policy", "panenco", "--priority", "P1", "--clock", "response")
    doc = bare_cli.ok(*args, "--start", "2026-12-24T17:00", "--json")
    assert doc == {
        "policy": "panenco", "policy_version": doc["policy_version"], "priority": "P1",
        "clock": "response", "start": "2026-12-24T17:00:00+01:00", "target": "2h",
        "due": "2026-12-28T10:00:00+01:00", "due_utc": "2026-12-28T09:00:00+00:00"}
    # 17:00 in Brussels is 16:00 UTC: the same instant, the same deadline
    assert bare_cli.ok(*args, "--start", "2026-12-24T16:00:00+00:00") == \
        "2026-12-28T10:00:00+01:00\n"
    # a naive start on the UTC policy is UTC: 23:58 + 5m crosses midnight
    assert bare_cli.ok("sla", "deadline", "--policy", "demo247", "--priority", "P1",
                       "--start", "2026-12-31T23:58") == "2027-01-01T00:03:00+00:00\n"
    resolution = bare_cli.ok(*args[:-2], "--clock", "resolution", "--start",
                             "2026-12-24T17:00", "--json")
    assert (resolution["target"], resolution["due"]) == ("8h", "2026-12-28T16:00:00+01:00")


def test_sla_explain_names_what_was_counted_and_skipped(bare_cli: Cli) -> None:
    out = bare_cli.ok("sla", "explain", "--policy", "panenco", "--priority", "P1", "--clock",
                      "response", "--start", "2026-12-24T17:00")
    lines = out.splitlines()
    assert "counted 17:00–18:00 Thu 24 Dec, skipped Christmas Day (holiday), weekend, "\
           "counted 09:00–10:00 Mon 28 Dec" in lines
    assert lines[0].startswith("policy panenco (") and "P1 response target 2h" in lines[0]
    assert lines[-1].startswith("due   Mon 28 Dec 2026 10:00 CET")


def test_sla_placeholder_policy_warns_on_stderr_but_still_answers(bare_cli: Cli) -> None:
    r = bare_cli("sla", "deadline", "--policy", "spinpanel", "--priority", "P1",
                 "--start", "2026-12-24T10:00")
    assert r.code == 0
    assert ISO.match(r.out.strip()), r.out
    warning = r.err.strip().splitlines()
    assert len(warning) == 1
    assert warning[0].startswith("warning: policy spinpanel:") and "placeholder" in warning[0]
    quiet = bare_cli("sla", "deadline", "--policy", "panenco", "--priority", "P1",
                     "--start", "2026-12-24T10:00")
    assert quiet.err == ""


def test_sla_policies_lists_the_built_ins(bare_cli: Cli) -> None:
    lines = bare_cli.ok("sla", "policies").splitlines()
    assert [line.split()[0] for line in lines] == ["demo247", "panenco", "spinpanel"]
    assert [("placeholder" in line) for line in lines] == [False, False, True]


def test_sla_check_accepts_a_good_file_and_names_file_and_key_of_a_broken_one(
        bare_cli: Cli, tmp_path: Path) -> None:
    good = bare_cli.ok("sla", "check", str(POLICIES / "panenco.toml"))
    assert good.startswith(f"{POLICIES / 'panenco.toml'}: ok: panenco (")
    assert "clocks response, resolution" in good
    placeholders = bare_cli.ok("sla", "check", str(POLICIES / "spinpanel.toml"))
    assert "  placeholder: clocks.response.targets" in placeholders.splitlines()

    text = (POLICIES / "panenco.toml").read_text(encoding="utf-8")
    broken = tmp_path / "broken.toml"
    broken.write_text(text.replace('set_by = "client"', 'set_by = "client"\ncolour = "red"'),
                      encoding="utf-8")
    line = one_line_error(bare_cli("sla", "check", str(broken)), 2)
    assert str(broken) in line and "priorities.colour" in line and "unknown key" in line

    bad_target = tmp_path / "bad_target.toml"
    bad_target.write_text(text.replace('P1 = "2h", P2 = "4h"', 'P1 = "soon", P2 = "4h"'),
                          encoding="utf-8")
    line = one_line_error(bare_cli("sla", "check", str(bad_target)), 2)
    assert str(bad_target) in line and "clocks.response.targets" in line and "soon" in line


# -- db and config ------------------------------------------------------------------------------


def test_db_status_and_upgrade(blank_store: Store, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "blank.toml"
    config.write_text(blank_store.toml(), encoding="utf-8")
    cli = Cli(config, capsys)
    v = SCHEMA_VERSION
    assert cli.ok("db", "status").endswith(f": schema version 0, this supportbot needs {v}\n")
    assert cli.ok("db", "upgrade") == f"schema at version {v} (was 0)\n"
    assert cli.ok("db", "upgrade") == f"schema at version {v} (already up to date)\n"
    status = cli.ok("db", "status")
    assert status.endswith(f": schema version {v}, this supportbot needs {v}\n")
    assert status.startswith("Database(")


def test_config_check_prints_the_settings_as_loaded(tmp_path: Path, config: Path,
                                                    store: Store) -> None:
    r = sub(tmp_path, clean_env(SUPPORTBOT_SCHEDULER__SWEEP_SECONDS="7",
                                SUPPORTBOT_LOG__FORMAT="json"),
            "--config", str(config), "config", "check")
    assert (r.code, r.err) == (0, f"settings from {config}: ok\n"), r
    doc = json.loads(r.out)  # stdout is pure JSON, for jq
    assert doc["storage"]["url"] == store.url and doc["storage"]["schema"] == store.schema
    assert [c["name"] for c in doc["clients"]] == ["acme", "nightowl"]
    assert doc["clients"][1]["policy"] == "demo247"
    assert doc["clients"][0]["email_domains"] == ["acme.example"]
    assert doc["scheduler"] == {"enabled": True, "sweep_seconds": 7}  # from the variable
    assert doc["log"] == {"level": "INFO", "format": "json"}
    assert doc["policies"]["default"] == "panenco"


# -- mistakes -----------------------------------------------------------------------------------


def test_unknown_ticket_is_one_line_and_exit_1_in_a_subprocess(tmp_path: Path,
                                                               store: Store) -> None:
    r = sub(tmp_path, clean_env(**store.env()), "tickets", "show", "T-9999")
    assert (r.code, r.out, r.err) == (1, "", "supportbot: error: no ticket T-9999\n")


def test_bad_variable_is_exit_2_naming_it_in_a_subprocess(tmp_path: Path, store: Store) -> None:
    r = sub(tmp_path, clean_env(**store.env(), SUPPORTBOT_STORAGE__AUTO_UPGRADE="maybe"),
            "tickets", "list")
    line = one_line_error(r, 2)
    assert line.startswith("supportbot: configuration error: SUPPORTBOT_STORAGE__AUTO_UPGRADE:")
    assert "storage.auto_upgrade" in line and "'maybe'" in line
    assert r.out == ""


def test_refused_actions_exit_1_with_one_line(cli: Cli) -> None:
    ref = cli.ok("tickets", "new", "--subject", "x", "--json")["reference"]
    assert one_line_error(cli("tickets", "resume", ref), 1) == \
        f"supportbot: error: {ref} is new, not paused"
    assert one_line_error(cli("tickets", "reopen", ref, "--reason", "why"), 1) == \
        f"supportbot: error: {ref} is new; only resolved tickets reopen"
    assert one_line_error(cli("tickets", "log-time", ref, "25"), 1) == \
        "supportbot: error: hours must be more than 0 and at most 24 at a time (got 25.0)"
    assert one_line_error(cli("tickets", "confirm-phone", ref), 1).endswith(
        "no phone follow-up needed")
    assert one_line_error(cli("tickets", "set-priority", ref, "P2", "--reason", " "), 1) == \
        "supportbot: error: a priority change needs a reason (it goes in the audit trail)"
    assert one_line_error(cli("tickets", "new", "--subject", "x", "--client", "nobody"), 1) == \
        "supportbot: error: no client named 'nobody'"
    assert "not a ticket reference: 'banana'" in one_line_error(cli("tickets", "show", "banana"),
                                                                 1)
    # nothing refused was written
    doc = cli.ok("tickets", "show", ref, "--json")
    assert [k for k, _ in events(doc)] == ["registered", "priority_set"]
    assert len(cli.ok("tickets", "list", "--json")) == 1


def test_usage_mistakes_exit_2_without_a_traceback(cli: Cli) -> None:
    ref = cli.ok("tickets", "new", "--subject", "x", "--json")["reference"]
    bad_priority = cli("tickets", "set-priority", ref, "P9", "--reason", "r")
    assert bad_priority.code == 2 and "Traceback" not in bad_priority.err
    assert "not a priority: 'P9' (expected P1, P2, P3 or P4)" in bad_priority.err
    bad_start = cli("sla", "deadline", "--priority", "P1", "--start", "yesterday")
    assert bad_start.code == 2 and "Traceback" not in bad_start.err
    assert "'yesterday' is not an ISO 8601 instant" in bad_start.err
    bad_clock = cli("sla", "deadline", "--priority", "P1", "--clock", "lunch",
                    "--start", "2026-12-24T10:00")
    assert bad_clock.code == 2 and "policy panenco has no clock 'lunch'" in bad_clock.err
    missing_reason = cli("tickets", "set-priority", ref, "P2")
    assert missing_reason.code == 2 and "--reason" in missing_reason.err
    bad_status = cli("tickets", "list", "--status", "sleeping")
    assert bad_status.code == 2 and "sleeping" in bad_status.err
    assert cli.ok("tickets", "show", ref, "--json")["priority"] != "P9"


@pytest.mark.parametrize("args", [
    ("sla", "deadline", "--priority", "P9", "--start", "2026-12-24T10:00"),
    ("sla", "deadline", "--priority", "P1", "--start", "yesterday"),
])
def test_usage_mistakes_are_one_line(bare_cli: Cli, args: tuple[str, ...]) -> None:
    line = one_line_error(bare_cli(*args), 2)
    assert "P9" in line or "yesterday" in line


def test_config_mistakes_exit_2_naming_file_and_key(
        tmp_path: Path, store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    wrong_key = tmp_path / "wrong.toml"
    wrong_key.write_text(store.toml() + "colour = 'blue'\n", encoding="utf-8")
    line = one_line_error(Cli(wrong_key, capsys)("tickets", "list"), 2)
    assert line.startswith(
        f"supportbot: configuration error: {wrong_key}: storage.colour: unknown key")

    bad_policy = tmp_path / "bad_policy.toml"
    bad_policy.write_text(store.toml() + '[[clients]]\nname = "acme"\npolicy = "gold"\n',
                          encoding="utf-8")
    line = one_line_error(Cli(bad_policy, capsys)("tickets", "list"), 2)
    assert line.startswith(f"supportbot: configuration error: {bad_policy}: clients[0].policy: ")
    assert "'gold'" in line

    bad_domain = tmp_path / "bad_domain.toml"
    bad_domain.write_text(store.toml() + '[[clients]]\nname = "acme"\n'
                          'email_domains = ["not a domain"]\n', encoding="utf-8")
    line = one_line_error(Cli(bad_domain, capsys)("tickets", "list"), 2)
    assert f"{bad_domain}: clients[0].email_domains[0]:" in line

    not_toml = tmp_path / "not.toml"
    not_toml.write_text("[storage\n", encoding="utf-8")
    line = one_line_error(Cli(not_toml, capsys)("tickets", "list"), 2)
    assert line.startswith(f"supportbot: configuration error: {not_toml}: not valid TOML")

    missing = tmp_path / "nowhere.toml"
    line = one_line_error(Cli(missing, capsys)("tickets", "list"), 2)
    assert line.startswith(f"supportbot: configuration error: {missing}: cannot read")


def test_bad_storage_url_is_a_configuration_error(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "mysql.toml"
    config.write_text('[storage]\nurl = "mysql://db.example/supportbot"\n', encoding="utf-8")
    line = one_line_error(Cli(config, capsys)("tickets", "list"), 2)
    assert line.startswith(f"supportbot: configuration error: {config}: storage.url:")
    assert "mysql" in line


def test_actor_defaults_to_the_variable(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORTBOT_ACTOR", "night-shift")
    doc = cli.ok("tickets", "new", "--subject", "x", "--json")
    assert doc["events"][0]["actor"] == "night-shift"
    doc = cli.ok("tickets", "note", doc["reference"], "hi", "--actor", "alice", "--json")
    assert events(doc)[-1] == ("note", "alice"), "--actor wins over the variable"


def test_wait_for_the_client_pauses_resolution_and_resume_ends_the_wait(cli: Cli) -> None:
    ref = cli.ok("tickets", "new", "--client", "nightowl", "--subject", "Export fails",
                 "--actor", "alice", "--json")["reference"]
    cli.ok("tickets", "confirm-cause", ref, "--actor", "alice")
    doc = cli.ok("tickets", "reply", ref, "--message", "Which file?", "--question",
                 "--actor", "alice", "--json")
    assert doc["status"] == "paused" and doc["waiting_since"] is not None
    assert events(doc)[-2:] == [("responded", "alice"), ("waiting_for_client", "alice")]
    assert doc["clocks"]["resolution"]["status"] == "paused"  # demo247: [waiting] pauses it
    text = cli.ok("tickets", "show", ref)
    assert "waiting for the client since" in text and "a question to the client" in text
    r = cli("tickets", "wait", ref, "--actor", "alice")
    assert "already waiting for the client" in one_line_error(r, 1)
    doc = cli.ok("tickets", "resume", ref, "--actor", "bob", "--json")
    assert doc["status"] == "open" and doc["waiting_since"] is None
    assert doc["events"][-1]["kind"] == "waiting_ended"
    assert doc["events"][-1]["data"] == {"by": "staff"}
    assert doc["clocks"]["resolution"]["status"] in ("running", "breached")
    doc = cli.ok("tickets", "wait", ref, "--reason", "asked for logs", "--json")
    assert doc["events"][-1]["data"] == {"reason": "asked for logs"}
