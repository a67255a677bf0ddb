"""``[slack]`` mistakes stop the bot at start, naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError
from config.settings import load_settings


def load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "supportbot.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path, env={})


def test_an_enabled_slack_needs_its_secrets(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as e:
        load(tmp_path, '[web]\nenabled = true\n[slack]\nenabled = true\nbot_token = "xoxb-1"\n')
    assert "supportbot.toml" in str(e.value) and "slack" in e.value.key
    assert "signing_secret" in str(e.value)


def test_http_mode_needs_the_web_app(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as e:
        load(tmp_path, '[slack]\nenabled = true\nbot_token = "xoxb-1"\nsigning_secret = "s"\n')
    assert "web.enabled" in str(e.value)


def test_socket_mode_needs_no_web_app_but_an_app_token(tmp_path: Path) -> None:
    s = load(tmp_path, '[slack]\nenabled = true\nmode = "socket"\nbot_token = "xoxb-1"\n'
                       'app_token = "xapp-1"\n[[clients]]\nname = "acme"\n'
                       'slack_channels = ["C1"]\ntriage_channel = "C2"\n')
    assert s.client_objects()[0].triage_channel == "C2"  # type: ignore[attr-defined]
    assert "xapp-1" not in repr(s)  # secrets are never shown
    with pytest.raises(ConfigError, match="app_token"):
        load(tmp_path, '[slack]\nenabled = true\nmode = "socket"\nbot_token = "xoxb-1"\n')


def test_a_wrong_api_base_url_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as e:
        load(tmp_path, '[slack]\napi_base_url = "slack.com"\n')
    assert "api_base_url" in str(e.value)
