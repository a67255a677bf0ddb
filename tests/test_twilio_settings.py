"""``[twilio]`` and ``[oncall]``: validated at load, naming the file and the key."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.twilio.setup import oncall
from bot.errors import ConfigError
from config.settings import load_settings
from tests.procs import run_main


def load(tmp_path: Path, text: str) -> object:
    f = tmp_path / "supportbot.toml"
    f.write_text(text, encoding="utf-8")
    return load_settings(f, env={})


def test_rota_from_settings_pages_the_shift_on_duty(tmp_path: Path) -> None:
    s = load(tmp_path, """
[oncall]
timezone = "Europe/Brussels"
rota = [{ start = "mon 09:00", numbers = ["0032 470 00 00 01"] },
        { start = "fri 18:00", numbers = ["+32 470 00 00 02", "+32 470 00 00 03"] }]
""")
    plan = oncall(s)  # type: ignore[arg-type]
    assert plan.numbers_at(datetime(2026, 11, 24, 12, tzinfo=UTC)) == ("+32470000001",)
    assert plan.numbers_at(datetime(2026, 11, 29, 12, tzinfo=UTC)) == ("+32470000002",
                                                                        "+32470000003")


@pytest.mark.parametrize("text,key,reason", [
    ('[oncall]\nnumbers = ["+32470000001"]\nrota = [{ start = "mon 09:00", numbers = '
     '["+32470000002"] }]', "oncall", "numbers or rota, not both"),
    ('[oncall]\nrota = [{ start = "monday 9", numbers = ["+32470000002"] }]', "oncall.rota[0]",
     "'mon 09:00'"),
    ('[oncall]\nnumbers = ["0470 00 00 01"]', "oncall.numbers[0]", "E.164"),
    ('[oncall]\ntimezone = "Mars/Olympus"', "oncall", "not a known time zone"),
    ('[twilio]\nenabled = true\naccount_sid = "AC' + "0" * 32 + '"\nfrom_number = '
     '"+3278000000"', "twilio", "auth_token"),
    ('[twilio]\napi_base_url = "ftp://x"', "twilio", "not an http(s) URL"),
])
def test_mistakes_name_the_file_and_key(tmp_path: Path, text: str, key: str,
                                        reason: str) -> None:
    with pytest.raises(ConfigError) as e:
        load(tmp_path, text)
    assert e.value.source == str(tmp_path / "supportbot.toml")
    assert e.value.key == key and reason in e.value.reason


def test_auth_token_is_never_shown(tmp_path: Path) -> None:
    s = load(tmp_path, '[twilio]\nauth_token = "s3cr3t-token"\n')
    assert "s3cr3t-token" not in repr(s) and "s3cr3t-token" not in str(s.model_dump())  # type: ignore[attr-defined]


@pytest.mark.parametrize("extra,key", [
    ('[oncall]\nnumbers = ["+32470000001"]\n', "web.public_url"),
    ('[web]\npublic_url = "https://bot.example.com"\n', "oncall.numbers"),
])
def test_enabled_twilio_needs_a_public_url_and_someone_to_page(tmp_path: Path, extra: str,
                                                              key: str) -> None:
    text = ('[twilio]\nenabled = true\naccount_sid = "AC' + "0" * 32 + '"\nauth_token = "t"\n'
            'from_number = "+3278000000"\n' + extra)
    with pytest.raises(ConfigError) as e:
        load(tmp_path, text)
    assert e.value.key == key and e.value.source == str(tmp_path / "supportbot.toml")


def test_enabled_twilio_without_the_web_app_is_refused_naming_the_key_and_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Calls would go out whose Gather callbacks reach nobody: pressing 1 could never work."""
    f = tmp_path / "supportbot.toml"
    f.write_text('[twilio]\nenabled = true\naccount_sid = "AC' + "0" * 32 + '"\n'
                 'auth_token = "t"\nfrom_number = "+3278000000"\n'
                 '[oncall]\nnumbers = ["+32470000001"]\n'
                 '[web]\npublic_url = "https://bot.example.com"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_settings(f, env={})
    assert e.value.key == "web.enabled" and e.value.source == str(f)
    assert "twilio.enabled" in e.value.reason and "web.enabled = true" in e.value.reason
    code, _out, err = run_main(capsys, f, "run")  # refused at start, before anything runs
    assert code == 2
    assert err.strip().splitlines() == [f"supportbot: configuration error: {f}: web.enabled: "
                                        f"{e.value.reason}"]
    # an environment variable that turns the web app off is named instead of the file
    f.write_text(f.read_text() + "enabled = true\n", encoding="utf-8")
    assert load_settings(f, env={}).web.enabled
    with pytest.raises(ConfigError) as e:
        load_settings(f, env={"SUPPORTBOT_WEB__ENABLED": "false"})
    assert (e.value.source, e.value.key) == ("SUPPORTBOT_WEB__ENABLED", "web.enabled")
