"""Settings: one typed object, built once at start from a TOML file and ``SUPPORTBOT_*`` variables.

Nothing here runs at import time. ``load_settings()`` reads the file named by ``--config`` (or
``SUPPORTBOT_CONFIG``, or ``./supportbot.toml`` when present), then applies environment variables:
``SUPPORTBOT_STORAGE__URL=...`` sets ``[storage] url``; a double underscore separates levels.
Every mistake raises ConfigError naming the file or variable, the key and what was expected.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, PrivateAttr, ValidationError, model_validator

from bot.errors import ConfigError, PolicyError
from bot.model import Client, Staff
from bot.schema import config_error, read_toml
from bot.sla.loader import load_policy
from config.dashboard import DashboardSettings
from config.env import ENV_PREFIX, NOT_SETTINGS, apply_env, variable_for
from config.fields import Section
from config.sections import (
    ClientLinkSettings,
    ClientSettings,
    ImapSettings,
    LogSettings,
    MailSettings,
    PolicySettings,
    RelaySettings,
    ReminderSettings,
    SchedulerSettings,
    SmtpSettings,
    StaffSettings,
    StorageSettings,
    WebSettings,
)
from config.trackers import with_secrets
from config.vendors import OnCallSettings, ShiftSettings, SlackSettings, TwilioSettings

DEFAULT_FILE = "supportbot.toml"


class Settings(Section):
    """Everything the bot is configured with. ``source`` says where it came from."""

    storage: StorageSettings = StorageSettings()
    policies: PolicySettings = PolicySettings()
    clients: tuple[ClientSettings, ...] = ()
    staff: tuple[StaffSettings, ...] = ()
    smtp: SmtpSettings = SmtpSettings()
    mail: MailSettings = MailSettings()
    relay: RelaySettings = RelaySettings()
    imap: ImapSettings = ImapSettings()
    log: LogSettings = LogSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    web: WebSettings = WebSettings()
    slack: SlackSettings = SlackSettings()
    twilio: TwilioSettings = TwilioSettings()
    oncall: OnCallSettings = OnCallSettings()
    reminders: ReminderSettings = ReminderSettings()
    client_links: ClientLinkSettings = ClientLinkSettings()
    dashboard: DashboardSettings = DashboardSettings()
    source: str = Field("defaults", exclude=True)
    _origin: dict[str, str] = PrivateAttr(default_factory=dict)

    def origin_of(self, key: str) -> str:
        """The variable that set ``key`` (dotted), else the file (or ``defaults``)."""
        return variable_for(key, self._origin) or self.source

    @model_validator(mode="after")
    def _slack_needs_web(self) -> Settings:
        if self.slack.enabled and self.slack.mode == "http" and not self.web.enabled:
            raise ValueError("slack.mode = \"http\" takes Slack's requests on the web app: "
                             "set web.enabled = true, or use slack.mode = \"socket\"")
        return self

    def client_objects(self) -> list[Client]:
        return [Client(
            name=c.name, policy=c.policy or self.policies.default,
            email_domains=c.email_domains, emails=c.emails, phones=c.phones,
            slack_channels=c.slack_channels, slack_users=c.slack_users,
            triage_channel=c.triage_channel,
            invoice_amount=c.invoice_amount, rates=tuple(sorted(c.rates.items())),
            currency=c.currency, default_priority=c.default_priority,
        ) for c in self.clients]

    def staff_objects(self) -> list[Staff]:
        return [Staff(s.name, s.email, s.slack_user, s.phone, role=s.role) for s in self.staff]


def _resolve(path: Path, base: Path) -> Path:
    return path if path.is_absolute() else base / path


def load_settings(path: str | Path | None = None, env: Mapping[str, str] | None = None,
                  cwd: Path | None = None) -> Settings:
    """Build the settings. ``path`` None means ``$SUPPORTBOT_CONFIG`` or ``./supportbot.toml``
    if present, else defaults only. A named file that does not exist is an error."""
    env = os.environ if env is None else env
    cwd = cwd or Path.cwd()
    explicit = path or env.get(ENV_PREFIX + "CONFIG")
    file: Path | None = Path(explicit) if explicit else None
    if file is None and (cwd / DEFAULT_FILE).is_file():
        file = cwd / DEFAULT_FILE
    if file is not None and not file.is_absolute():
        file = cwd / file
    data: dict[str, Any] = read_toml(file) if file is not None else {}
    origin = apply_env(data, env)
    source = str(file) if file else "defaults"

    def blame(err: ConfigError) -> ConfigError:
        var = variable_for(err.key, origin)
        return ConfigError(var, err.key, err.reason) if var else err

    try:
        settings = Settings.model_validate({**data, "source": source})
    except ValidationError as e:
        raise blame(config_error(source, e, model=Settings)) from None
    for what, items in (("clients", settings.clients), ("staff", settings.staff)):
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item.name in seen:
                raise blame(ConfigError(source, f"{what}[{i}].name",
                                        f"{item.name!r} appears twice"))
            seen.add(item.name)
    if settings.twilio.enabled:  # what Twilio needs from other sections
        if not settings.web.public_url:
            raise blame(ConfigError(source, "web.public_url", "Twilio needs the public URL "
                                    "its webhooks reach the bot at"))
        if not (settings.oncall.numbers or settings.oncall.rota):
            raise blame(ConfigError(source, "oncall.numbers", "Twilio pages on-call: give "
                                    "oncall.numbers or oncall.rota"))
        if not settings.web.enabled:  # else paging calls go out that nobody can take
            raise blame(ConfigError(source, "web.enabled", "twilio.enabled is true, and "
                                    "Twilio's webhooks (the client's call, pressing 1 on a "
                                    "page) reach the bot on its web app: set web.enabled = "
                                    "true, or twilio.enabled = false"))
    if settings.dashboard.enabled and len(settings.dashboard.session_secret
                                          .get_secret_value()) < 32:
        raise blame(ConfigError(source, "dashboard.session_secret", "an enabled dashboard "
                                "signs its sessions with it: give 32 random characters or "
                                "more (python3 -c 'import secrets; "
                                "print(secrets.token_urlsafe(32))')"))
    if settings.dashboard.enabled and not settings.web.enabled:
        raise blame(ConfigError(source, "dashboard.enabled", "the dashboard is served by the "
                                "web app: set web.enabled = true, or dashboard.enabled = false"))
    slack = settings.slack
    if slack.enabled and slack.mode == "socket" and not slack.app_token.get_secret_value():
        raise blame(ConfigError(source, "slack.app_token", 'slack.mode = "socket" connects '
                                'with an app-level token: set slack.app_token = "xapp-...", '
                                'or slack.mode = "http"'))
    settings = settings.model_copy(update={"clients": tuple(
        c.model_copy(update={"tracker": with_secrets(c.tracker, f"clients[{i}].tracker",
                                                     source, env)}) if c.tracker else c
        for i, c in enumerate(settings.clients))})
    # relative folders and policy files are read from the settings file's folder (else cwd)
    base = file.parent if file is not None else cwd
    settings = settings.model_copy(update={
        "policies": settings.policies.model_copy(update={
            "paths": tuple(_resolve(p, base) for p in settings.policies.paths)}),
        "clients": tuple(c.model_copy(update={"policy": str(_resolve(Path(c.policy), base))})
                         if c.policy and _is_path(c.policy) else c for c in settings.clients),
    })
    for key, name in _named_policies(settings):
        try:
            load_policy(name, settings.policies.paths)
        except PolicyError as e:
            where = f"{name!r}: " if e.source == name else f"{name!r} ({e}): "
            reason = e.reason if e.source == name else "the policy does not load"
            raise blame(ConfigError(source, key, where + reason)) from None
    settings._origin = origin
    return settings


def _is_path(policy: str) -> bool:
    return policy.endswith(".toml") or "/" in policy


def _named_policies(s: Settings) -> list[tuple[str, str]]:
    named = [("policies.default", s.policies.default)]
    named += [(f"clients[{i}].policy", c.policy) for i, c in enumerate(s.clients) if c.policy]
    return named


__all__ = [
    "DEFAULT_FILE", "ENV_PREFIX", "NOT_SETTINGS", "ClientLinkSettings", "ClientSettings",
    "ImapSettings", "LogSettings",
    "MailSettings", "OnCallSettings", "PolicySettings", "RelaySettings", "ReminderSettings",
    "SchedulerSettings", "Settings", "ShiftSettings", "SlackSettings", "SmtpSettings",
    "StaffSettings", "StorageSettings", "TwilioSettings", "WebSettings", "load_settings",
]
