"""The files in ``deploy/`` name only settings, variables, ports, paths and commands that exist.

Each file is read as its tool reads it (YAML for compose and the Slack manifests, the unit's
``Key=Value`` lines, the Dockerfile's instructions, Postfix's ``argv=``), and what it names is
checked against the code: variables and settings files go through ``load_settings``, command
lines through the click parser of ``supportbot`` (without running them), webhook paths against
the routes the web components serve. No image is built (no network in tests); the image's
``HEALTHCHECK`` command is run for real against a running bot.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import pytest
import yaml

from adapters.cli import cli
from adapters.cli.mail import EX_DATAERR, EX_TEMPFAIL
from adapters.twilio.component import PATHS as TWILIO_PATHS
from config.env import ENV_PREFIX, NOT_SETTINGS
from config.settings import Settings, load_settings
from tests.procs import BotProcess, clean_env, free_port

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
SLACK_SOURCES = sorted((ROOT / "adapters" / "slack").glob("*.py"))
CONFIG_FILE = "/etc/supportbot/supportbot.toml"
SECTIONS = ("storage|policies|clients\\[\\]|staff\\[\\]|smtp|mail|relay|imap|log|scheduler|web"
            "|slack|twilio|oncall|reminders")
SETTING = re.compile(rf"(?<![\w./-])(?:{SECTIONS})\.[a-z_]+(?:\[\]\.[a-z_]+)?(?![\w.-])")


# -- what the code offers -----------------------------------------------------------------------


def setting_keys(model: type[Any] = Settings, prefix: str = "") -> set[str]:
    """Every dotted key the settings accept: ``web.public_url``, ``clients[].name``."""
    keys: set[str] = set()
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        key = prefix + (field.alias or name)
        keys.add(key)
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        inner = args[0] if args and isinstance(args[0], type) else ann
        if isinstance(inner, type) and hasattr(inner, "model_fields"):
            keys |= setting_keys(inner, key + ("[]." if args else "."))
    return keys


def parse_command(argv: list[str]) -> list[str]:
    """Parse ``supportbot ARGV`` as the CLI would, without running it: unknown commands or
    options raise; returns the command path (``["db", "upgrade"]``)."""
    ctx = cli.make_context("supportbot", list(argv))
    command: click.Command = cli
    path: list[str] = []
    while isinstance(command, click.Group):
        rest = [*ctx._protected_args, *ctx.args]
        assert rest, f"supportbot {' '.join(argv)}: no command"
        name, sub, rest = command.resolve_command(ctx, rest)
        assert sub is not None and name is not None, f"supportbot {' '.join(argv)}: no {rest}"
        path.append(name)
        ctx = sub.make_context(name, rest, parent=ctx)
        command = sub
    return path


def supportbot_argv(line: str) -> list[str]:
    """The arguments after ``.../supportbot`` in a command line."""
    words = shlex.split(line)
    at = next(i for i, w in enumerate(words) if w.rsplit("/", 1)[-1] == "supportbot")
    return words[at + 1:]


def load_env(tmp_path: Path, env: dict[str, str]) -> Settings:
    """Settings from ``SUPPORTBOT_*`` variables alone, as a process with ``env`` would load them
    (``SUPPORTBOT_CONFIG`` names a file of the target machine, so it is left out here)."""
    env = {k: v for k, v in env.items() if k != "SUPPORTBOT_CONFIG"}
    assert all(k.startswith(ENV_PREFIX) for k in env), env
    return load_settings(None, env=env, cwd=tmp_path)


def slack_paths() -> set[str]:
    source = (ROOT / "adapters" / "slack" / "component.py").read_text(encoding="utf-8")
    return set(re.findall(r'"(/slack/[a-z]+)"', source))


def web_paths() -> set[str]:
    source = (ROOT / "adapters" / "web" / "app.py").read_text(encoding="utf-8")
    return set(re.findall(r'Route\("(/[a-z]+)"', source))


# -- every file ---------------------------------------------------------------------------------


def test_every_setting_a_deploy_file_names_exists() -> None:
    keys = setting_keys()
    assert {"web.public_url", "clients[].name", "storage.schema"} <= keys
    named: dict[str, set[str]] = {}
    for path in sorted(DEPLOY.rglob("*")):
        if path.is_file():
            for key in SETTING.findall(path.read_text(encoding="utf-8")):
                named.setdefault(key, set()).add(path.name)
    assert len(named) > 15, named
    assert {k: v for k, v in named.items() if k not in keys} == {}


def test_every_supportbot_variable_a_deploy_file_names_is_a_setting_or_a_known_one() -> None:
    keys = setting_keys()
    seen: set[str] = set()
    for path in sorted(DEPLOY.rglob("*")):
        if path.is_file():
            seen |= set(re.findall(r"\bSUPPORTBOT_[A-Z0-9_]+", path.read_text(encoding="utf-8")))
    wrong = {v for v in seen - NOT_SETTINGS
             if v[len(ENV_PREFIX):].lower().replace("__", ".") not in keys}
    assert len(seen) > 8 and wrong == set(), wrong


# -- Dockerfile ---------------------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments left out."""
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    out = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def docker_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in dockerfile():
        if word == "ENV":
            env.update(dict(pair.split("=", 1) for pair in shlex.split(rest)))
    return env


def test_the_image_is_multi_stage_non_root_and_runs_supportbot(tmp_path: Path) -> None:
    steps = dockerfile()
    stages = [rest for word, rest in steps if word == "FROM"]
    assert len(stages) >= 2 and " AS build" in stages[0]
    assert any(w == "COPY" and r.startswith("--from=build ") for w, r in steps)
    final = steps[max(i for i, (w, _) in enumerate(steps) if w == "FROM"):]
    users = [r for w, r in final if w == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert [w for w, _ in final].index("USER") < [w for w, _ in final].index("ENTRYPOINT")
    entry = json.loads(next(r for w, r in final if w == "ENTRYPOINT"))
    cmd = json.loads(next(r for w, r in final if w == "CMD"))
    assert entry == ["supportbot"] and parse_command(cmd) == ["run"]
    env = docker_env()
    assert env["PATH"].startswith("/opt/supportbot/.venv/bin:")
    s = load_env(tmp_path, {k: v for k, v in env.items() if k.startswith(ENV_PREFIX)})
    assert (s.smtp.host, s.web.host, s.web.enabled) == ("0.0.0.0", "0.0.0.0", True)
    assert s.storage.url.startswith("sqlite:////var/lib/supportbot/")
    exposed = {int(p) for w, r in final if w == "EXPOSE" for p in r.split()}
    assert exposed == {s.smtp.port, s.web.port}


def healthcheck_argv() -> list[str]:
    rest = next(r for w, r in dockerfile() if w == "HEALTHCHECK")
    argv = json.loads(rest.split(" CMD ", 1)[1])
    assert argv[0] == "python"
    return [sys.executable, *argv[1:]]


def test_the_healthcheck_asks_healthz_of_a_running_bot_and_fails_without_one(
        tmp_path: Path) -> None:
    argv = healthcheck_argv()
    assert "/healthz" in argv[-1] and "/healthz" in web_paths()
    web, smtp = free_port(), free_port()
    config = tmp_path / "supportbot.toml"
    config.write_text(f'[storage]\nurl = "sqlite:///{tmp_path / "bot.db"}"\n'
                      f"[smtp]\nport = {smtp}\n[scheduler]\nenabled = false\n"
                      f"[web]\nenabled = true\nport = {web}\n", encoding="utf-8")
    bot = BotProcess(config)
    bot.start()
    try:
        ok = subprocess.run(argv, env={**clean_env(), "SUPPORTBOT_WEB__PORT": str(web)},
                            capture_output=True, text=True, timeout=30, check=False)
    finally:
        bot.stop()
    assert ok.returncode == 0, ok.stderr
    gone = subprocess.run(argv, env={**clean_env(), "SUPPORTBOT_WEB__PORT": str(web)},
                          capture_output=True, text=True, timeout=30, check=False)
    assert gone.returncode != 0 and "refused" in gone.stderr.lower()


# -- compose ------------------------------------------------------------------------------------


def compose_env(service: dict[str, Any]) -> dict[str, str]:
    """The service's environment with compose's ``${VAR:-default}`` taken at the default."""
    return {k: re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(v))
            for k, v in service["environment"].items()}


def test_compose_runs_two_bots_on_one_postgresql_after_one_migration(tmp_path: Path) -> None:
    doc = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    services = doc["services"]
    pg = services["postgres"]
    bots = [name for name, s in services.items() if "ports" in s and name != "postgres"]
    assert len(bots) == 2, bots
    assert services[bots[0]]["environment"] == services[bots[1]]["environment"]
    host_ports: list[str] = []
    for name in [*bots, "migrate"]:
        service = services[name]
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
        assert (DEPLOY / service["build"]["context"] / "deploy" / "Dockerfile").is_file()
        env = compose_env(service)
        assert env["SUPPORTBOT_CONFIG"] == CONFIG_FILE
        assert [v["target"] for v in service["volumes"]] == [CONFIG_FILE]
        s = load_env(tmp_path, env)
        url = urlsplit(s.storage.url)
        assert (url.scheme, url.hostname, url.port, url.path.lstrip("/"), url.username) == (
            "postgresql", "postgres", 5432, pg["environment"]["POSTGRES_DB"],
            pg["environment"]["POSTGRES_USER"])
        assert s.storage.auto_upgrade is False  # migrate does it, once
        if name == "migrate":
            assert parse_command(service["command"]) == ["db", "upgrade"]
            assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
            continue
        assert "command" not in service  # the image's CMD: run
        assert service["depends_on"]["migrate"]["condition"] == \
            "service_completed_successfully"
        containers = {int(p.rsplit(":", 1)[1]) for p in service["ports"]}
        assert containers == {s.smtp.port, s.web.port}
        assert (s.smtp.host, s.web.host, s.web.enabled) == ("0.0.0.0", "0.0.0.0", True)
        host_ports += [p.rsplit(":", 1)[0] for p in service["ports"]]
    assert len(host_ports) == len(set(host_ports)) == 4, host_ports


def test_the_example_settings_compose_mounts_load(tmp_path: Path) -> None:
    s = load_settings(DEPLOY / "supportbot.toml.example", env={}, cwd=tmp_path)
    assert s.clients


# -- systemd ------------------------------------------------------------------------------------


def unit() -> dict[str, list[str]]:
    """``Section.Key`` -> its values in order (keys like ExecStartPre may repeat)."""
    out: dict[str, list[str]] = {}
    section = ""
    for line in (DEPLOY / "supportbot.service").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.setdefault(f"{section}.{key}", []).append(value)
    return out


def test_the_systemd_unit_is_hardened_and_runs_real_commands() -> None:
    u = unit()
    one = {k: v[-1] for k, v in u.items()}
    assert one["Service.DynamicUser"] == "yes" and "Service.User" not in one
    assert one["Service.ProtectSystem"] == "strict"
    assert one["Service.StateDirectory"] == "supportbot"
    assert one["Service.WorkingDirectory"] == "/var/lib/supportbot"  # where StateDirectory is
    assert one["Service.Restart"] == "on-failure" and one["Service.RestartSec"]
    assert one["Service.RestartPreventExitStatus"] == "2"  # a config mistake: see adapters.cli
    assert one["Service.NoNewPrivileges"] == "yes" and one["Service.PrivateTmp"] == "yes"
    assert one["Service.Environment"] == f"SUPPORTBOT_CONFIG={CONFIG_FILE}"
    assert one["Service.ConfigurationDirectory"] == "supportbot"
    assert [parse_command(supportbot_argv(c)) for c in u["Service.ExecStartPre"]] == \
        [["db", "upgrade"]]
    assert parse_command(supportbot_argv(one["Service.ExecStart"])) == ["run"]
    assert one["Install.WantedBy"] == "multi-user.target"


# -- Postfix ------------------------------------------------------------------------------------


def test_the_postfix_pipe_and_alias_run_supportbot_ingest() -> None:
    master = (DEPLOY / "postfix" / "master.cf").read_text(encoding="utf-8")
    service = re.search(r"^supportbot\s+unix\s+-\s+n\s+n\s+-\s+\d+\s+pipe\n\s+(flags=\S+.*)$",
                        master, re.M)
    assert service, "a pipe service named supportbot"
    args = dict(w.split("=", 1) for w in shlex.split(service.group(1).split(" argv=")[0]))
    assert args["user"] == "supportbot" and "R" in args["flags"]  # Return-Path: <> of bounces
    argv = supportbot_argv(service.group(1).split(" argv=", 1)[1])
    assert argv[:2] == ["--config", CONFIG_FILE] and parse_command(argv) == ["ingest"]
    aliases = (DEPLOY / "postfix" / "aliases").read_text(encoding="utf-8")
    alias = re.search(r'^support:\s+"\|([^"]+)"$', aliases, re.M)
    assert alias and parse_command(supportbot_argv(alias.group(1))) == ["ingest"]
    for text in (master, aliases):
        assert f"{EX_TEMPFAIL} " in text and f"{EX_DATAERR} " in text  # the exit codes told


# -- Slack --------------------------------------------------------------------------------------

METHOD_SCOPES: dict[str, set[str]] = {
    "auth.test": set(),
    "chat.postMessage": {"chat:write"},
    "chat.update": {"chat:write"},
    "chat.postEphemeral": {"chat:write"},
    "conversations.replies": {"channels:history", "groups:history"},
    "users.info": {"users:read", "users:read.email"},  # the email: who wrote a direct message
    "views.publish": set(),  # the App Home tab: needs no scope, the manifest's app_home
}
"""The Web API methods the code may call and the bot scopes they need (Slack's method pages);
a method called that is not here fails the test, so the manifest is looked at again."""
EVENTS: dict[str, set[str]] = {"message": {"message.channels", "message.groups", "message.im"},
                               "reaction_added": {"reaction_added"},
                               "app_home_opened": {"app_home_opened"}}
"""The event types the intake handles -> the subscriptions that deliver them."""
EVENT_SCOPES = {"message.channels": "channels:history", "message.groups": "groups:history",
                "message.im": "im:history", "reaction_added": "reactions:read",
                "app_home_opened": None}
"""The scope each subscription needs (None: app_home_opened needs none)."""


def called_methods() -> set[str]:
    calls = set()
    for path in SLACK_SOURCES:
        for family, name in re.findall(r"\.(auth|chat|conversations|users|reactions|views|team"
                                       r"|files|pins|bookmarks|reminders|usergroups)_([a-zA-Z]+)"
                                       r"\(", path.read_text(encoding="utf-8")):
            calls.add(f"{family}.{name}")
    return calls


def handled_events() -> set[str]:
    source = (ROOT / "adapters" / "slack" / "intake.py").read_text(encoding="utf-8")
    return set(re.findall(r'kind == "([a-z_]+)"', source))


def manifests() -> dict[str, dict[str, Any]]:
    return {p.name: yaml.safe_load(p.read_text(encoding="utf-8"))
            for p in sorted((DEPLOY / "slack").glob("manifest*.yaml"))}


def test_the_slack_manifests_ask_the_scopes_and_events_the_code_uses() -> None:
    calls = called_methods()
    assert {"chat.postMessage", "chat.update", "conversations.replies", "users.info",
            "auth.test"} <= calls
    assert calls - set(METHOD_SCOPES) == set(), "new Web API methods: check the manifests"
    assert handled_events() == set(EVENTS)
    events = set().union(*EVENTS.values())
    needed = set().union(*(METHOD_SCOPES[m] for m in calls)) | \
        {s for e in events if (s := EVENT_SCOPES[e])} | {"commands"}
    docs = manifests()
    assert set(docs) == {"manifest.yaml", "manifest-socket.yaml"}
    for name, m in docs.items():
        assert set(m["oauth_config"]["scopes"]["bot"]) == needed, name
        assert set(m["settings"]["event_subscriptions"]["bot_events"]) == events, name
        assert m["settings"]["interactivity"]["is_enabled"] is True
        assert [c["command"] for c in m["features"]["slash_commands"]] == ["/ticket"]
        assert m["features"]["bot_user"]["display_name"]
        assert m["features"]["app_home"]["home_tab_enabled"] is True, name


def test_the_slash_command_is_the_one_bolt_serves_and_its_hint_names_real_verbs() -> None:
    source = (ROOT / "adapters" / "slack" / "component.py").read_text(encoding="utf-8")
    assert re.findall(r'\.command\("(/[a-z]+)"\)', source) == ["/ticket"]
    from adapters.slack.commands import HELP

    for m in manifests().values():
        hint = m["features"]["slash_commands"][0]["usage_hint"]
        verbs = {part.split()[0] for part in hint.split(" | ")}
        assert verbs and all(f"/ticket {v}" in HELP for v in verbs), verbs


def test_http_mode_points_slack_at_the_routes_and_socket_mode_at_none() -> None:
    docs = manifests()
    http, socket = docs["manifest.yaml"], docs["manifest-socket.yaml"]
    urls = {http["settings"]["event_subscriptions"]["request_url"],
            http["settings"]["interactivity"]["request_url"],
            http["features"]["slash_commands"][0]["url"]}
    assert {urlsplit(u).scheme for u in urls} == {"https"}
    assert {urlsplit(u).path for u in urls} == slack_paths() == {
        "/slack/events", "/slack/interactivity", "/slack/commands"}
    assert http["settings"]["socket_mode_enabled"] is False
    assert socket["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in json.dumps(socket) and "url" not in \
        socket["features"]["slash_commands"][0]
    text = (DEPLOY / "slack" / "manifest-socket.yaml").read_text(encoding="utf-8")
    assert "slack.app_token" in text and "connections:write" in text


# -- Twilio -------------------------------------------------------------------------------------


def test_the_twilio_guide_names_the_paths_served_and_settings_that_load(tmp_path: Path) -> None:
    guide = (DEPLOY / "twilio.md").read_text(encoding="utf-8")
    named = set(re.findall(r"(/twilio/[a-z/]+[a-z])", guide))
    assert named == set(TWILIO_PATHS.values())
    assert f"`https://bot.example.com{TWILIO_PATHS['voice']}`" in guide  # the one to set
    block = re.search(r"```toml\n(.*?)```", guide, re.S)
    assert block
    config = tmp_path / "twilio.toml"
    config.write_text(re.sub(r"^ {3}", "", block.group(1), flags=re.M), encoding="utf-8")
    s = load_settings(config, env={"SUPPORTBOT_TWILIO__AUTH_TOKEN": "secret"}, cwd=tmp_path)
    assert s.twilio.enabled and s.web.enabled and s.oncall.numbers
    assert s.web.public_url is not None and s.web.public_url.startswith("https://")


@pytest.mark.parametrize("name", ["Dockerfile", "compose.yaml", "supportbot.service",
                                  "postfix/master.cf", "postfix/aliases", "slack/manifest.yaml",
                                  "slack/manifest-socket.yaml", "twilio.md"])
def test_the_readme_points_at_each_deploy_file(name: str) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    deploy = readme.split("\n## Deploy\n", 1)
    assert len(deploy) == 2, "the README has a Deploy section"
    assert f"`deploy/{name}`" in deploy[1].split("\n## ", 1)[0]
