"""``supportbot config check`` catches settings that are each fine alone and wrong together, one
line per mistake naming the keys (and the file or variable that set them), exit 2. Driven through
the installed console script, as an operator runs it before a deploy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SUPPORTBOT = Path(sys.executable).parent / "supportbot"
PREFIX = "supportbot: configuration error: "

TWILIO = """
[twilio]
enabled = true
account_sid = "AC0123456789abcdef0123456789abcdef"
auth_token = "secret"
from_number = "+3225550100"
[oncall]
numbers = ["+3225550101"]
"""


def check(tmp_path: Path, toml: str, **env: str) -> tuple[int, str, list[str]]:
    """(exit code, stdout, stderr lines) of ``supportbot --config FILE config check``."""
    config = tmp_path / "supportbot.toml"
    db = f"sqlite:///{tmp_path / 'bot.db'}"
    config.write_text(f'[storage]\nurl = "{db}"\n' + toml, encoding="utf-8")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}
    p = subprocess.run([str(SUPPORTBOT), "--config", str(config), "config", "check"],
                       cwd=tmp_path, env={**environ, **env}, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=60, check=False)
    assert "Traceback" not in p.stderr, p.stderr
    return p.returncode, p.stdout, p.stderr.splitlines()


def test_twilio_with_the_web_app_off_is_one_line_naming_both_keys(tmp_path: Path) -> None:
    code, out, err = check(tmp_path, TWILIO + '[web]\npublic_url = "https://bot.example.com"\n')
    assert (code, out, len(err)) == (2, "", 1), err
    assert err[0].startswith(f"{PREFIX}{tmp_path / 'supportbot.toml'}: web.enabled: ")
    assert "twilio.enabled" in err[0]


def test_socket_mode_without_an_app_token_names_the_key(tmp_path: Path) -> None:
    code, out, err = check(tmp_path, '[slack]\nenabled = true\nmode = "socket"\n'
                                     'bot_token = "xoxb-1"\n')
    assert (code, out, len(err)) == (2, "", 1), err
    assert err[0].startswith(f"{PREFIX}{tmp_path / 'supportbot.toml'}: slack.app_token: "), err
    assert 'slack.mode = "socket"' in err[0]


def test_socket_mode_app_token_from_a_variable_passes(tmp_path: Path) -> None:
    code, _out, err = check(tmp_path, '[slack]\nenabled = true\nmode = "socket"\n'
                                      'bot_token = "xoxb-1"\n',
                            SUPPORTBOT_SLACK__APP_TOKEN="xapp-1")
    assert (code, err) == (0, [f"settings from {tmp_path / 'supportbot.toml'}: ok"])


@pytest.mark.parametrize("url", ["http://bot.example.com", "http://10.0.0.7:8080/bot"])
def test_a_public_url_that_is_not_https_is_a_mistake(tmp_path: Path, url: str) -> None:
    code, out, err = check(tmp_path, f'[web]\nenabled = true\npublic_url = "{url}"\n')
    assert (code, out, len(err)) == (2, "", 1), err
    assert err[0].startswith(f"{PREFIX}{tmp_path / 'supportbot.toml'}: web.public_url: "), err
    assert "https" in err[0] and "127.0.0.1" in err[0]


@pytest.mark.parametrize("url", ["https://bot.example.com", "http://127.0.0.1:8080",
                                 "http://localhost:8080/bot", "http://[::1]:8080"])
def test_https_or_a_local_http_url_for_development_is_fine(tmp_path: Path, url: str) -> None:
    code, out, err = check(tmp_path, f'[web]\nenabled = true\npublic_url = "{url}"\n')
    assert (code, err) == (0, [f"settings from {tmp_path / 'supportbot.toml'}: ok"])
    assert '"public_url": "' + url + '"' in out


def test_a_relay_password_without_tls_names_both_keys_and_the_variable(tmp_path: Path) -> None:
    code, out, err = check(tmp_path, '[relay]\nhost = "smtp.example.com"\nusername = "bot"\n',
                           SUPPORTBOT_RELAY__PASSWORD="hunter2")
    assert (code, out, len(err)) == (2, "", 1), err
    assert err[0].startswith(f"{PREFIX}SUPPORTBOT_RELAY__PASSWORD: relay.password, "
                             "relay.security: "), err
    assert "hunter2" not in err[0]
    code, _out, err = check(tmp_path, '[relay]\nhost = "smtp.example.com"\nusername = "bot"\n'
                                      'security = "starttls"\n',
                            SUPPORTBOT_RELAY__PASSWORD="hunter2")
    assert code == 0, err


def test_every_mistake_is_its_own_line(tmp_path: Path) -> None:
    code, out, err = check(tmp_path, '[web]\nenabled = true\npublic_url = "http://bot.example"\n'
                                     '[relay]\nhost = "smtp.example.com"\npassword = "pw"\n')
    assert (code, out) == (2, "")
    where = f"{PREFIX}{tmp_path / 'supportbot.toml'}: "
    assert [line.removeprefix(where).split(": ")[0] for line in err] == [
        "web.public_url", "relay.password, relay.security"], err


def test_client_links_without_the_web_app_name_what_is_missing(tmp_path: Path) -> None:
    code, out, err = check(tmp_path, '[web]\npublic_url = "https://bot.example.com"\n',
                           SUPPORTBOT_CLIENT_LINKS__SECRET="s" * 32)
    assert (code, out, len(err)) == (2, "", 1), err
    assert err[0].startswith(f"{PREFIX}SUPPORTBOT_CLIENT_LINKS__SECRET: client_links.secret, "
                             "web.enabled: "), err
    assert "s" * 32 not in err[0]
    code, _out, err = check(tmp_path, '[web]\nenabled = true\n'
                                      'public_url = "https://bot.example.com"\n',
                            SUPPORTBOT_CLIENT_LINKS__SECRET="s" * 32)
    assert code == 0, err
    code, _out, err = check(tmp_path, '[client_links]\nsecret = "short"\n')
    assert code != 0 and "client_links.secret" in err[-1] and "16" in err[-1], err
