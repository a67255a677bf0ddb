"""``supportbot tracker sync`` makes the items missing for tickets registered before the
tracker was configured (or whose create failed): the reference looked for first, the state
mirrored, resumable, a summary; ``tracker status`` shows per client what is linked, queued,
failed. Through the installed console script against the Jira fake."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from adapters.bootstrap import bootstrap
from config.settings import load_settings
from tests.fake_jira import FakeJira

SUPPORTBOT = Path(sys.executable).parent / "supportbot"


def write(tmp_path: Path, fake: FakeJira | None) -> Path:
    config = tmp_path / "supportbot.toml"
    text = (f'[storage]\nurl = "sqlite:///{tmp_path / "bot.db"}"\n'
            '[[clients]]\nname = "acme"\nemail_domains = ["acme.example"]\n')
    if fake is not None:
        text += (f'[clients.tracker]\nkind = "jira"\nurl = "{fake.base}"\n'
                 'token_env = "ACME_JIRA_TOKEN"\nproject = "SUP"\n')
    config.write_text(text, encoding="utf-8")
    return config


def run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}
    p = subprocess.run([str(SUPPORTBOT), "--config", str(config), *args], cwd=config.parent,
                       env={**environ, "ACME_JIRA_TOKEN": "jira-pat"}, capture_output=True,
                       text=True, stdin=subprocess.DEVNULL, timeout=120, check=False)
    assert "Traceback" not in p.stderr, p.stderr
    return p


def test_sync_makes_the_missing_items_once_resumably_and_status_tells(tmp_path: Path) -> None:
    fake = FakeJira()
    fake.start()
    try:
        before = load_settings(write(tmp_path, None), env={})
        app = bootstrap(before)
        try:
            refs = [app.helpdesk.register(subject=f"Old incident {i}", client="acme",
                                          requester="jan@acme.example").reference
                    for i in range(4)]
            app.helpdesk.resolve(refs[1], actor="alice", note="fixed")
            app.helpdesk.close(refs[3], actor="alice")  # closed: no item made for it
        finally:
            app.close()
        config = write(tmp_path, fake)
        fake.refuse = 403
        first = run(config, "tracker", "sync")
        assert first.returncode == 1
        assert "3 tickets without an item: 0 created, 0 found already there, 3 failed" \
            in first.stdout
        assert "403" in first.stdout
        status = run(config, "tracker", "status")
        assert "acme (jira): 0 items, 0 queued, 3 failed" in status.stdout
        assert status.stdout.count("  failed: ") == 3
        fake.refuse = None
        fake.issues.clear()
        again = run(config, "tracker", "sync", "--client", "acme")
        assert again.returncode == 0, again.stderr
        assert "3 tickets without an item: 3 created, 0 found already there, 0 failed" \
            in again.stdout
        assert [len(fake.by_label(r)) for r in refs] == [1, 1, 1, 0]
        resolved = fake.by_label(refs[1])[0]
        assert resolved["fields"]["status"]["name"] == "Done"  # where the ticket stands
        assert "0 tickets without an item" in run(config, "tracker", "sync").stdout
        status = run(config, "tracker", "status").stdout
        assert "acme (jira): 3 items, 0 queued, 0 failed, 3 sent" in status
        key = fake.by_label(refs[0])[0]["key"]
        shown = run(config, "tickets", "show", refs[0]).stdout
        assert f"tracker: jira {key} {fake.base}/browse/{key}" in shown
        unknown = run(config, "tracker", "sync", "--client", "nobody")
        assert unknown.returncode == 1 and "no tracker configured" in unknown.stderr
    finally:
        fake.stop()
