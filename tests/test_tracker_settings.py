"""The client's ``tracker`` table: a discriminated union on ``kind``, its secrets from the
environment (never printed), mistakes naming the key; and ``supportbot config check`` trying
each tracker's connection, one line naming what is wrong (refused token, unknown project,
missing priority or list). Through the installed console script, against the loopback fakes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.errors import ConfigError
from config.settings import load_settings
from tests import fake_trello
from tests.fake_jira import FakeJira
from tests.fake_trello import FakeTrello

SUPPORTBOT = Path(sys.executable).parent / "supportbot"
PREFIX = "supportbot: configuration error: "


def write(tmp_path: Path, tracker: str) -> Path:
    config = tmp_path / "supportbot.toml"
    config.write_text(f'[storage]\nurl = "sqlite:///{tmp_path / "bot.db"}"\n'
                      f'[[clients]]\nname = "acme"\n[clients.tracker]\n{tracker}',
                      encoding="utf-8")
    return config


def check(tmp_path: Path, tracker: str, **env: str) -> tuple[int, str, list[str]]:
    config = write(tmp_path, tracker)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}
    p = subprocess.run([str(SUPPORTBOT), "--config", str(config), "config", "check"],
                       cwd=tmp_path, env={**environ, **env}, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=60, check=False)
    assert "Traceback" not in p.stderr, p.stderr
    return p.returncode, p.stdout, p.stderr.splitlines()


def jira(fake: FakeJira, **over: str) -> str:
    keys = {"kind": '"jira"', "url": f'"{fake.base}"', "token_env": '"ACME_JIRA_TOKEN"',
            "project": '"SUP"', **over}
    return "".join(f"{k} = {v}\n" for k, v in keys.items())


@pytest.fixture
def fake_jira() -> FakeJira:
    fake = FakeJira()
    fake.start()
    yield fake  # type: ignore[misc]
    fake.stop()


def test_a_reachable_jira_passes_and_the_token_is_never_printed(
        tmp_path: Path, fake_jira: FakeJira) -> None:
    code, out, err = check(tmp_path, jira(fake_jira), ACME_JIRA_TOKEN="jira-pat")
    assert code == 0, err
    assert f"acme's tracker: Jira {fake_jira.base}: project SUP (Support): ok" in err
    assert "jira-pat" not in out + "".join(err)
    assert json.loads(out)["clients"][0]["tracker"]["token"] == "**********"


@pytest.mark.parametrize(("over", "env", "said"), [
    ({}, {"ACME_JIRA_TOKEN": "wrong"}, "Jira refused the token (401)"),
    ({"project": '"NOPE"'}, {"ACME_JIRA_TOKEN": "jira-pat"}, "Jira has no project NOPE (404)"),
    ({"priorities": '{P1 = "Urgent", P2 = "High", P3 = "Medium", P4 = "Low"}'},
     {"ACME_JIRA_TOKEN": "jira-pat"}, "Jira has no priority P1 -> Urgent"),
])
def test_what_is_wrong_with_a_jira_is_one_line(tmp_path: Path, fake_jira: FakeJira,
                                               over: dict[str, str], env: dict[str, str],
                                               said: str) -> None:
    code, _out, err = check(tmp_path, jira(fake_jira, **over), **env)
    assert code == 2
    wrong = [line for line in err if line.startswith(PREFIX)]
    assert len(wrong) == 1, err
    assert wrong[0].startswith(f"{PREFIX}{tmp_path / 'supportbot.toml'}: clients[0].tracker: ")
    assert said in wrong[0]


def test_a_trello_list_the_board_lacks_is_named(tmp_path: Path) -> None:
    fake = FakeTrello()
    fake.start()
    try:
        lists = {**fake_trello.LISTS, "resolved": "ffff00000000000000000000"}
        table = (f'kind = "trello"\napi_url = "{fake.base}/1"\nkey = "trello-key"\n'
                 f'token = "trello-token"\nboard = "{fake_trello.BOARD}"\n'
                 f"lists = {json.dumps(lists).replace(':', ' =')}\n")
        code, _out, err = check(tmp_path, table)
        assert code == 2
        assert any("has no list resolved -> ffff00000000000000000000" in e for e in err), err
    finally:
        fake.stop()


def test_an_unset_token_variable_names_the_key_and_the_variable(tmp_path: Path) -> None:
    config = write(tmp_path, 'kind = "jira"\nurl = "https://x.atlassian.net"\n'
                             'project = "SUP"\ntoken_env = "ACME_JIRA_TOKEN"\n')
    with pytest.raises(ConfigError) as e:
        load_settings(config, env={})
    assert e.value.key == "clients[0].tracker.token_env"
    assert "ACME_JIRA_TOKEN is not set" in str(e.value)


def test_no_token_at_all_is_refused(tmp_path: Path) -> None:
    config = write(tmp_path, 'kind = "jira"\nurl = "https://x.atlassian.net"\nproject = "S"\n')
    with pytest.raises(ConfigError) as e:
        load_settings(config, env={})
    assert e.value.key == "clients[0].tracker.token"


@pytest.mark.parametrize(("table", "key", "said"), [
    ('kind = "miro"\n', "clients[0].tracker", "jira"),
    ('kind = "jira"\nurl = "https://x"\nproject = "S"\ntoken = "t"\n'
     'statuses = {new = "To Do", done = "Done"}\n', "clients[0].tracker", "done"),
    ('kind = "asana"\ntoken = "t"\nproject = "1"\nsections = {new = "2"}\n',
     "clients[0].tracker", "resolved"),
])
def test_a_mistake_in_the_table_names_its_key(tmp_path: Path, table: str, key: str,
                                              said: str) -> None:
    with pytest.raises(ConfigError) as e:
        load_settings(write(tmp_path, table), env={})
    assert e.value.key.startswith(key), e.value
    assert said in str(e.value)


def test_token_from_the_environment_is_loaded(tmp_path: Path) -> None:
    config = write(tmp_path, 'kind = "jira"\nurl = "https://x.atlassian.net"\n'
                             'email = "bot@provider.example"\nproject = "SUP"\n'
                             'token_env = "ACME_JIRA_TOKEN"\n')
    s = load_settings(config, env={"ACME_JIRA_TOKEN": "from-env"})
    tracker = s.clients[0].tracker
    assert tracker is not None and tracker.token.get_secret_value() == "from-env"
    assert "from-env" not in repr(s)
