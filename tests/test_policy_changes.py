"""Policy changes, end to end with real mail: a client's policy file changes, the contacts are
told what changed since the version they acknowledged (through the outbox and a real relay),
and where the policy asks approval the change is pending until a contact replies APPROVE
through the SMTP intake (or staff record it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.bootstrap import bootstrap
from adapters.cli import main
from adapters.mail.inbound import InboundStore
from adapters.mail.outbound import OutboxSender, Relay
from adapters.mail.smtp import SmtpIntake, SupportHandler
from adapters.maintenance import PolicyWatch
from adapters.storage import Database
from bot.clock import ManualClock
from bot.errors import InvalidAction
from bot.policy_changes import diff
from bot.reports import render
from bot.sla import load_policy
from config.settings import Settings
from tests.mailbot import SUPPORT, Bot, reply_to
from tests.mailpeers import LoopThread, Sink

BUILTIN = Path(load_policy("panenco").source).read_text(encoding="utf-8")


pytestmark = pytest.mark.usefixtures("no_supportbot_env")


def write_policy(folder: Path, *, windows: str = "09:00-18:00", approval: bool = True,
                 comment: str = "") -> Path:
    text = BUILTIN.replace('name = "panenco"', 'name = "globexsla"').replace(
        '["09:00-18:00"]', f'["{windows}"]')
    text = comment + text + f"\n[changes]\napproval = {'true' if approval else 'false'}\n"
    path = folder / "globexsla.toml"
    path.write_text(text, encoding="utf-8")
    return path


def settings(database: Database, folder: Path, sink_port: int) -> Settings:
    storage: dict[str, object] = {"url": database.url.render_as_string(hide_password=False)}
    if database.schema:
        storage["schema"] = database.schema
    return Settings.model_validate({
        "storage": storage, "policies": {"paths": [str(folder)]},
        "clients": [{"name": "globex", "policy": "globexsla", "emails": ["cto@globex.example"]},
                    {"name": "acme", "policy": "panenco", "emails": ["ops@acme.example"]}],
        "mail": {"support_addresses": [SUPPORT]},
        "relay": {"host": "127.0.0.1", "port": sink_port},
    })


@pytest.fixture
def pbot(database: Database, loop: LoopThread, tmp_path: Path) -> Iterator[Bot]:
    folder = tmp_path / "policies"
    folder.mkdir()
    write_policy(folder)
    sink = Sink(loop)
    clock = ManualClock(datetime(2026, 11, 23, 8, tzinfo=UTC))
    app = bootstrap(settings(database, folder, sink.port), clock=clock)
    store = InboundStore(app.db, clock)
    store.start()
    intake = SmtpIntake(SupportHandler(store, [SUPPORT]), "127.0.0.1", 0,
                        max_message_bytes=5_000_000)
    loop.run(intake.start())
    bot = Bot(app, clock, intake, store, OutboxSender(app.db, clock, Relay("127.0.0.1",
                                                                           sink.port)), sink)
    try:
        yield bot
    finally:
        loop.run(intake.stop())
        store.stop()
        sink.close()
        app.close()


def test_the_diff_names_what_changed_and_ignores_comments() -> None:
    old = BUILTIN
    new = BUILTIN.replace('["09:00-18:00"]', '["08:30-17:00"]').replace(
        'P1 = "2h"', 'P1 = "1h"') + '\n[[calendar.closed]]\ndate = 2026-12-31\nname = "Closing"\n'
    assert diff(old, "# a comment\n" + old) == []
    assert diff(old, new) == [
        'calendar.closed: added [{"date": "2026-12-31", "name": "Closing"}]',
        'calendar.windows.weekdays: ["09:00-18:00"] -> ["08:30-17:00"]',
        'clocks.response.targets.P1: "2h" -> "1h"',
    ]


def test_a_change_needing_approval_is_pending_until_a_contact_approves_by_reply(
        pbot: Bot, tmp_path: Path) -> None:
    svc = pbot.app.policy_changes
    first = svc.check()
    assert sorted((c.client, c.version.state) for c in first) == [
        ("acme", "baseline"), ("globex", "baseline")]
    assert pbot.deliver() == [] and svc.check() == []

    pbot.clock.advance(timedelta(days=1))
    write_policy(tmp_path / "policies", windows="08:00-17:00")
    woken: list[int] = []
    watch = PolicyWatch(pbot.app.policy_changes, after=lambda: woken.append(1))
    assert watch() == 1 and woken == [1]
    (mail,) = pbot.deliver()
    assert mail["To"] == "cto@globex.example" and mail["Auto-Submitted"] == "auto-generated"
    body = mail.get_body(("plain",)).get_content()
    assert 'calendar.windows.weekdays: ["09:00-18:00"] -> ["08:00-17:00"]' in body
    assert "APPROVE" in body
    assert svc.check() == [] and pbot.deliver() == []  # recorded once, mailed once

    policy, base, lines = svc.diff("globex")
    assert base is not None and base.state == "baseline" and base.version != policy.version
    assert lines == ['calendar.windows.weekdays: ["09:00-18:00"] -> ["08:00-17:00"]']
    report = pbot.app.reporting.report("globex", "current")
    assert report.acknowledged_version == base.version
    assert json.loads(render(report, "json"))["policy_changes"]["changes"] == lines
    assert "Policy changed since version" in render(report, "md")

    outcome, answers = pbot.roundtrip(reply_to(mail, "cto@globex.example", "Approve\nfine"))
    assert outcome.state == "done" and answers == []
    assert outcome.action == (f"policy change {policy.version} of globex approved by "
                              "cto@globex.example")
    _, base, lines = svc.diff("globex")
    assert base is not None and base.version == policy.version and lines == []
    assert pbot.app.reporting.report("globex", "current").policy_changes == ()
    with pytest.raises(InvalidAction, match="no policy change of globex is waiting"):
        svc.decide("globex", "approved", actor="cli:alice")


def test_without_approval_a_change_is_only_told_and_comments_change_nothing(
        pbot: Bot, tmp_path: Path) -> None:
    svc = pbot.app.policy_changes
    svc.check()
    write_policy(tmp_path / "policies", approval=False, comment="# reviewed\n")
    (c,) = svc.check()
    # only the approval switch changed: told, not pending (it asks no approval any more)
    assert c.version.state == "told" and c.lines == ("changes.approval: true -> false",)
    (mail,) = pbot.deliver()
    assert "No action is needed" in mail.get_body(("plain",)).get_content()
    write_policy(tmp_path / "policies", approval=False, comment="# reviewed again\n")
    (c,) = svc.check()
    assert c.version.state == "told" and c.lines == () and not c.mailed
    assert pbot.deliver() == []


def test_the_policy_cli(pbot: Bot, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = pbot.app.db
    config = tmp_path / "supportbot.toml"
    storage = {"url": db.url.render_as_string(hide_password=False)}
    if db.schema:
        storage["schema"] = db.schema
    config.write_text(
        f"[storage]\nurl = {json.dumps(storage['url'])}\n"
        + (f"schema = {json.dumps(storage['schema'])}\n" if db.schema else "")
        + f"[policies]\npaths = [{json.dumps(str(tmp_path / 'policies'))}]\n"
        '[[clients]]\nname = "globex"\npolicy = "globexsla"\nemails = ["cto@globex.example"]\n',
        encoding="utf-8")

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--config", str(config), *args])
        out, err = capsys.readouterr()
        return code, out, err

    assert "globex: version " in run("policy", "check")[1]
    write_policy(tmp_path / "policies", windows="10:00-16:00")
    code, out, _ = run("policy", "diff", "globex")
    assert code == 0 and '["09:00-18:00"] -> ["10:00-16:00"]' in out
    code, out, _ = run("policy", "check")
    assert code == 0 and "pending (contacts mailed)" in out
    code, out, _ = run("policy", "approve", "globex", "--actor", "cli:alice")
    assert code == 0 and "approved by cli:alice" in out
    code, _, err = run("policy", "approve", "globex")
    assert code == 1 and err.strip() == (
        "supportbot: error: no policy change of globex is waiting for approval")
    code, _, err = run("policy", "diff", "nobody")
    assert code == 1 and err.strip() == "supportbot: error: no client named 'nobody'"
