"""Settings from a TOML file and ``SUPPORTBOT_*`` variables: defaults, overrides, errors.

Every test passes ``env=`` and ``cwd=`` explicitly, so the real environment and working directory
never leak in.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.model import Client
from bot.priority import Priority
from bot.sla.loader import builtin_policy_dir
from config.settings import Settings, load_settings

BUILTINS = ("demo247", "panenco", "spinpanel")


def write(dir_: Path, text: str, name: str = "supportbot.toml") -> Path:
    path = dir_ / name
    path.write_text(text, encoding="utf-8")
    return path


def load_text(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> Settings:
    """Load settings from ``text`` written to a file named explicitly."""
    return load_settings(write(tmp_path, text, "settings.toml"), env=env or {}, cwd=tmp_path)


def config_error(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as exc:
        load_text(tmp_path, text, env)
    return exc.value


# -- where settings come from -------------------------------------------------------------------


def test_runs_with_nothing_set(tmp_path: Path) -> None:
    s = load_settings(None, env={}, cwd=tmp_path)
    assert s.source == "defaults"
    assert s.storage.url == "sqlite:///supportbot.db"
    assert s.storage.auto_upgrade is True
    assert s.policies.default == "panenco"
    assert s.policies.paths == ()
    assert s.clients == ()
    assert s.client_objects() == []
    assert s.staff == ()
    assert s.log.level == "INFO"
    assert s.scheduler.enabled is True
    assert s.scheduler.sweep_seconds == 60


def test_unrelated_variables_are_ignored(tmp_path: Path) -> None:
    env = {"HOME": "/root", "STORAGE__URL": "x", "SUPPORTBOTX": "y", "supportbot_log__level": "z"}
    s = load_settings(None, env=env, cwd=tmp_path)
    assert s.storage.url == "sqlite:///supportbot.db"
    assert s.log.level == "INFO"


def test_supportbot_toml_in_cwd_is_picked_up(tmp_path: Path) -> None:
    path = write(tmp_path, '[storage]\nurl = "sqlite:///from-cwd.db"\n')
    s = load_settings(None, env={}, cwd=tmp_path)
    assert s.storage.url == "sqlite:///from-cwd.db"
    assert s.source == str(path)


def test_explicit_path_wins_over_cwd_file_and_variable(tmp_path: Path) -> None:
    write(tmp_path, '[storage]\nurl = "sqlite:///from-cwd.db"\n')
    write(tmp_path, '[storage]\nurl = "sqlite:///from-var.db"\n', "var.toml")
    explicit = write(tmp_path, '[storage]\nurl = "sqlite:///explicit.db"\n', "explicit.toml")
    s = load_settings(explicit, env={"SUPPORTBOT_CONFIG": "var.toml"}, cwd=tmp_path)
    assert s.storage.url == "sqlite:///explicit.db"
    assert s.source == str(explicit)


def test_relative_explicit_path_is_read_from_cwd(tmp_path: Path) -> None:
    write(tmp_path, '[log]\nlevel = "DEBUG"\n', "relative.toml")
    s = load_settings("relative.toml", env={}, cwd=tmp_path)
    assert s.log.level == "DEBUG"
    assert s.source == str(tmp_path / "relative.toml")


@pytest.mark.parametrize("absolute", [False, True])
def test_supportbot_config_names_the_file(tmp_path: Path, absolute: bool) -> None:
    write(tmp_path, '[storage]\nurl = "sqlite:///from-cwd.db"\n')
    named = write(tmp_path, '[storage]\nurl = "sqlite:///named.db"\n', "named.toml")
    env = {"SUPPORTBOT_CONFIG": str(named) if absolute else "named.toml"}
    s = load_settings(None, env=env, cwd=tmp_path)
    assert s.storage.url == "sqlite:///named.db"
    assert s.source == str(named)


def test_missing_explicit_file_is_an_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as exc:
        load_settings(missing, env={}, cwd=tmp_path)
    assert exc.value.source == str(missing)
    assert "cannot read" in exc.value.reason
    assert str(missing) in str(exc.value)


def test_missing_file_named_by_variable_is_an_error_naming_it(tmp_path: Path) -> None:
    write(tmp_path, "")  # a ./supportbot.toml must not be used instead
    with pytest.raises(ConfigError) as exc:
        load_settings(None, env={"SUPPORTBOT_CONFIG": "nope.toml"}, cwd=tmp_path)
    assert exc.value.source == str(tmp_path / "nope.toml")
    assert "cannot read" in exc.value.reason


# -- environment variables ----------------------------------------------------------------------


def test_env_sets_nested_keys_with_conversion(tmp_path: Path) -> None:
    env = {
        "SUPPORTBOT_STORAGE__URL": "postgresql://db/support",
        "SUPPORTBOT_LOG__LEVEL": "WARNING",
        "SUPPORTBOT_SCHEDULER__SWEEP_SECONDS": "5",
        "SUPPORTBOT_STORAGE__AUTO_UPGRADE": "false",
        "SUPPORTBOT_POLICIES__PATHS": '["/x", "/y"]',
    }
    s = load_settings(None, env=env, cwd=tmp_path)
    assert s.storage.url == "postgresql://db/support"
    assert s.log.level == "WARNING"
    assert s.scheduler.sweep_seconds == 5
    assert isinstance(s.scheduler.sweep_seconds, int)
    assert s.storage.auto_upgrade is False
    assert s.policies.paths == (Path("/x"), Path("/y"))


def test_env_sets_aliased_key(tmp_path: Path) -> None:
    s = load_settings(None, env={"SUPPORTBOT_STORAGE__SCHEMA": "support"}, cwd=tmp_path)
    assert s.storage.schema_ == "support"


def test_env_table_array_of_clients(tmp_path: Path) -> None:
    env = {"SUPPORTBOT_CLIENTS": '[{ name = "Acme", phones = ["+32 16 12 34 56"] }]'}
    s = load_settings(None, env=env, cwd=tmp_path)
    assert [c.name for c in s.clients] == ["Acme"]
    assert s.clients[0].phones == ("+3216123456",)


def test_env_beats_file_and_keeps_the_rest_of_the_section(tmp_path: Path) -> None:
    path = write(tmp_path, '[storage]\nurl = "sqlite:///file.db"\necho = true\n'
                           '[scheduler]\nsweep_seconds = 30\n')
    env = {"SUPPORTBOT_STORAGE__URL": "sqlite:///env.db"}
    s = load_settings(path, env=env, cwd=tmp_path)
    assert s.storage.url == "sqlite:///env.db"
    assert s.storage.echo is True
    assert s.scheduler.sweep_seconds == 30


def test_env_applies_on_top_of_cwd_file(tmp_path: Path) -> None:
    write(tmp_path, '[log]\nlevel = "DEBUG"\nformat = "json"\n')
    s = load_settings(None, env={"SUPPORTBOT_LOG__LEVEL": "ERROR"}, cwd=tmp_path)
    assert (s.log.level, s.log.format) == ("ERROR", "json")


# -- errors: each names the file (or variable), the key and what was expected -------------------


def test_unknown_section(tmp_path: Path) -> None:
    err = config_error(tmp_path, '[storgae]\nurl = "x"\n')
    assert err.source == str(tmp_path / "settings.toml")
    assert err.key == "storgae"
    assert "unknown key" in err.reason


def test_unknown_section_lists_known_sections(tmp_path: Path) -> None:
    err = config_error(tmp_path, '[storgae]\nurl = "x"\n')
    assert "storage" in err.reason


def test_unknown_key_in_a_section(tmp_path: Path) -> None:
    err = config_error(tmp_path, '[storage]\nurl = "sqlite:///x.db"\ndatabase = "x"\n')
    assert err.source == str(tmp_path / "settings.toml")
    assert err.key == "storage.database"
    assert "unknown key" in err.reason
    assert str(tmp_path / "settings.toml") in str(err) and "storage.database" in str(err)


def test_wrong_type(tmp_path: Path) -> None:
    err = config_error(tmp_path, "[storage]\nurl = 3\n")
    assert err.source == str(tmp_path / "settings.toml")
    assert err.key == "storage.url"
    assert "string" in err.reason and "3" in err.reason


def test_section_that_is_not_a_table(tmp_path: Path) -> None:
    err = config_error(tmp_path, "storage = 3\n")
    assert err.key == "storage"
    assert "dictionary" in err.reason or "table" in err.reason


def test_bad_enum_lists_the_choices(tmp_path: Path) -> None:
    err = config_error(tmp_path, '[log]\nlevel = "LOUD"\n')
    assert err.source == str(tmp_path / "settings.toml")
    assert err.key == "log.level"
    for choice in ("DEBUG", "INFO", "WARNING", "ERROR", "LOUD"):
        assert choice in err.reason


def test_out_of_range_int(tmp_path: Path) -> None:
    err = config_error(tmp_path, "[scheduler]\nsweep_seconds = 0\n")
    assert err.key == "scheduler.sweep_seconds"
    assert "greater than or equal to 1" in err.reason


def test_bad_phone(tmp_path: Path) -> None:
    err = config_error(tmp_path, '[[clients]]\nname = "Acme"\nphones = ["+32 16", "12"]\n')
    assert err.source == str(tmp_path / "settings.toml")
    assert err.key == "clients[0].phones[0]"
    assert "'+32 16'" in err.reason
    assert "E.164" in err.reason


def test_bad_staff_phone(tmp_path: Path) -> None:
    err = config_error(tmp_path, '[[staff]]\nname = "Ann"\nphone = "call me"\n')
    assert err.key == "staff[0].phone"
    assert "E.164" in err.reason


def test_bad_domain(tmp_path: Path) -> None:
    text = '[[clients]]\nname = "Acme"\nemail_domains = ["acme.be", "not a domain"]\n'
    err = config_error(tmp_path, text)
    assert err.source == str(tmp_path / "settings.toml")
    assert err.key == "clients[0].email_domains[1]"
    assert "'not a domain'" in err.reason and "example.com" in err.reason


def test_bad_email(tmp_path: Path) -> None:
    err = config_error(tmp_path, '[[clients]]\nname = "Acme"\nemails = ["ops.acme.be"]\n')
    assert err.source == str(tmp_path / "settings.toml")
    assert err.key == "clients[0].emails[0]"
    assert "'ops.acme.be'" in err.reason and "mail address" in err.reason


def test_bad_client_priority(tmp_path: Path) -> None:
    err = config_error(tmp_path, '[[clients]]\nname = "Acme"\ndefault_priority = "P9"\n')
    assert err.key == "clients[0].default_priority"
    assert "P1, P2, P3 or P4" in err.reason


def test_client_without_name(tmp_path: Path) -> None:
    err = config_error(tmp_path, '[[clients]]\npolicy = "panenco"\n')
    assert err.key == "clients[0].name"
    assert "missing" in err.reason


DUPLICATE_CLIENTS = '[[clients]]\nname = "Acme"\n\n[[clients]]\nname = "Acme"\n'


def test_duplicate_client_names(tmp_path: Path) -> None:
    err = config_error(tmp_path, DUPLICATE_CLIENTS)
    assert err.source == str(tmp_path / "settings.toml")
    assert "'Acme' appears twice" in err.reason
    assert "clients[1].name" in str(err)


def test_duplicate_client_names_key(tmp_path: Path) -> None:
    err = config_error(tmp_path, DUPLICATE_CLIENTS)
    assert err.key == "clients[1].name"


def test_client_naming_unknown_policy(tmp_path: Path) -> None:
    text = '[[clients]]\nname = "Acme"\npolicy = "panenco"\n\n[[clients]]\nname = "B"\n' \
           'policy = "panencoo"\n'
    err = config_error(tmp_path, text)
    assert err.source == str(tmp_path / "settings.toml")
    assert err.key == "clients[1].policy"
    assert "'panencoo'" in err.reason
    for name in BUILTINS:
        assert name in err.reason


def test_unknown_default_policy(tmp_path: Path) -> None:
    err = config_error(tmp_path, '[policies]\ndefault = "nope"\n')
    assert err.source == str(tmp_path / "settings.toml")
    assert err.key == "policies.default"
    assert "'nope'" in err.reason
    for name in BUILTINS:
        assert name in err.reason


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    err = config_error(tmp_path, '[storage\nurl = "x"\n')
    assert err.source == str(tmp_path / "settings.toml")
    assert err.key == ""
    assert "not valid TOML" in err.reason
    assert "line 1" in err.reason


def test_invalid_toml_in_cwd_file_names_it(tmp_path: Path) -> None:
    path = write(tmp_path, "url = = 3\n")
    with pytest.raises(ConfigError) as exc:
        load_settings(None, env={}, cwd=tmp_path)
    assert exc.value.source == str(path)
    assert "not valid TOML" in exc.value.reason


@pytest.mark.parametrize(
    ("var", "value", "key", "fragment"),
    [
        ("SUPPORTBOT_SCHEDULER__SWEEP_SECONDS", "often", "scheduler.sweep_seconds", "integer"),
        ("SUPPORTBOT_SCHEDULER__SWEEP_SECONDS", "0", "scheduler.sweep_seconds", ">= 1"),
        ("SUPPORTBOT_LOG__LEVEL", "LOUD", "log.level", "'DEBUG', 'INFO', 'WARNING' or 'ERROR'"),
        ("SUPPORTBOT_STORAGE__AUTO_UPGRADE", "maybe", "storage.auto_upgrade", "boolean"),
        ("SUPPORTBOT_POLICIES__PATHS", "/x", "policies.paths", "tuple"),
    ],
)
def test_bad_value_from_variable_names_the_variable(
    tmp_path: Path, var: str, value: str, key: str, fragment: str
) -> None:
    # a valid file is present: the error must point at the variable, not at the file
    text = '[storage]\nurl = "sqlite:///x.db"\n[log]\nlevel = "INFO"\n'
    err = config_error(tmp_path, text, env={var: value})
    assert err.source == var
    assert err.key == key
    assert fragment.replace(">= 1", "greater than or equal to 1") in err.reason
    assert str(tmp_path) not in str(err)


def test_bad_value_from_variable_without_a_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_settings(None, env={"SUPPORTBOT_LOG__FORMAT": "xml"}, cwd=tmp_path)
    assert exc.value.source == "SUPPORTBOT_LOG__FORMAT"
    assert exc.value.key == "log.format"
    assert "'text' or 'json'" in exc.value.reason


@pytest.mark.parametrize(
    ("var", "key"),
    [("SUPPORTBOT_STORAGE__DATABASE", "storage.database"), ("SUPPORTBOT_COLOUR", "colour")],
)
def test_variable_for_unknown_key(tmp_path: Path, var: str, key: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_settings(None, env={var: "x"}, cwd=tmp_path)
    assert exc.value.source == var
    assert exc.value.key == key
    assert "unknown key" in exc.value.reason


def test_variable_with_empty_level(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_settings(None, env={"SUPPORTBOT_STORAGE____URL": "x"}, cwd=tmp_path)
    assert exc.value.source == "SUPPORTBOT_STORAGE____URL"
    assert "A__B" in exc.value.reason


def test_bad_value_inside_variable_table_names_the_variable(tmp_path: Path) -> None:
    env = {"SUPPORTBOT_CLIENTS": '[{ name = "Acme", phones = ["12"] }]'}
    err = config_error(tmp_path, '[log]\nlevel = "INFO"\n', env=env)
    assert err.key == "clients[0].phones[0]"
    assert err.source == "SUPPORTBOT_CLIENTS"


def test_variable_below_a_plain_key_names_the_variable(tmp_path: Path) -> None:
    err = config_error(tmp_path, '[log]\nlevel = "INFO"\n', env={"SUPPORTBOT_STORAGE__URL__X": "x"})
    assert err.source == "SUPPORTBOT_STORAGE__URL__X"


def test_unknown_policy_from_variable_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_settings(None, env={"SUPPORTBOT_POLICIES__DEFAULT": "nope"}, cwd=tmp_path)
    assert exc.value.key == "policies.default"
    assert exc.value.source == "SUPPORTBOT_POLICIES__DEFAULT"


# -- policies named in settings -----------------------------------------------------------------


def test_policy_found_in_extra_folder(tmp_path: Path) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    shutil.copy(builtin_policy_dir() / "demo247.toml", folder / "acme.toml")
    s = load_text(tmp_path, f'[policies]\ndefault = "acme"\npaths = ["{folder}"]\n')
    assert s.policies.default == "acme"


def test_relative_policy_folder_is_read_from_cwd(tmp_path: Path) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    shutil.copy(builtin_policy_dir() / "demo247.toml", folder / "acme.toml")
    s = load_text(tmp_path, '[policies]\ndefault = "acme"\npaths = ["policies"]\n')
    assert s.policies.default == "acme"


def test_client_policy_path_that_does_not_exist(tmp_path: Path) -> None:
    err = config_error(tmp_path, '[[clients]]\nname = "Acme"\npolicy = "policies/acme.toml"\n')
    assert err.key == "clients[0].policy"


def test_policy_that_does_not_load(tmp_path: Path) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "broken.toml").write_text("this is not [toml\n")
    err = config_error(tmp_path, f'[policies]\ndefault = "broken"\npaths = ["{folder}"]\n')
    assert err.key == "policies.default"
    assert "not valid TOML" in err.reason


# -- normalisation ------------------------------------------------------------------------------


CLIENTS = """
[policies]
default = "demo247"

[[clients]]
name = "Acme"
phones = ["+32 16 12 34 56", "0032 16 12 34 57", "+32-16-12.34.58"]
email_domains = ["Acme.BE", "@Mail.Acme.be "]
emails = [" Ops@Acme.be "]
invoice_amount = 1200.5
default_priority = "p2"

[[clients]]
name = "SpinCo"
policy = "spinpanel"
"""


def test_normalisation(tmp_path: Path) -> None:
    s = load_text(tmp_path, CLIENTS)
    acme = s.clients[0]
    assert acme.phones == ("+3216123456", "+3216123457", "+3216123458")
    assert acme.email_domains == ("acme.be", "mail.acme.be")
    assert acme.emails == ("ops@acme.be",)
    assert acme.default_priority is Priority.P2


def test_client_objects_fill_in_the_default_policy(tmp_path: Path) -> None:
    s = load_text(tmp_path, CLIENTS)
    clients = s.client_objects()
    assert all(isinstance(c, Client) for c in clients)
    acme, spin = clients
    assert (acme.name, acme.policy) == ("Acme", "demo247")
    assert (spin.name, spin.policy) == ("SpinCo", "spinpanel")
    assert acme.phones == ("+3216123456", "+3216123457", "+3216123458")
    assert acme.email_domains == ("acme.be", "mail.acme.be")
    assert acme.invoice_amount == 1200.5
    assert acme.currency == "EUR"
    assert acme.default_priority is Priority.P2
    assert spin.default_priority is None


def test_client_objects_follow_default_set_by_variable(tmp_path: Path) -> None:
    s = load_text(tmp_path, CLIENTS, env={"SUPPORTBOT_POLICIES__DEFAULT": "panenco"})
    assert [c.policy for c in s.client_objects()] == ["panenco", "spinpanel"]


def test_phone_with_trunk_zero_in_brackets(tmp_path: Path) -> None:
    s = load_text(tmp_path, '[[clients]]\nname = "Acme"\nphones = ["+32 (0)16 12 34 56"]\n')
    assert s.clients[0].phones == ("+3216123456",)
