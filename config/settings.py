"""Settings: one typed object, built once at start from a TOML file and ``SUPPORTBOT_*`` variables.

Nothing here runs at import time. ``load_settings()`` reads the file named by ``--config`` (or
``SUPPORTBOT_CONFIG``, or ``./supportbot.toml`` when present), then applies environment variables:
``SUPPORTBOT_STORAGE__URL=...`` sets ``[storage] url``; a double underscore separates levels.
Every mistake raises ConfigError naming the file or variable, the key and what was expected.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)

from bot.errors import ConfigError, PolicyError
from bot.model import Client, Staff
from bot.phone.numbers import e164
from bot.phone.paging import shift_start
from bot.priority import Priority
from bot.schema import config_error, read_toml
from bot.sla.loader import load_policy

ENV_PREFIX = "SUPPORTBOT_"
NOT_SETTINGS = frozenset({"SUPPORTBOT_CONFIG", "SUPPORTBOT_ACTOR", "SUPPORTBOT_TEST_DATABASE"})
"""Variables with the prefix that are not settings (see the README)."""
DEFAULT_FILE = "supportbot.toml"

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z]{2,63}$|^localhost$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def _phone(v: Any) -> str:
    return e164(v)


def _domain(v: Any) -> str:
    if not isinstance(v, str) or not _DOMAIN.match(v.strip().lower().lstrip("@")):
        raise ValueError(f"{v!r} is not a mail domain (e.g. 'example.com')")
    return v.strip().lower().lstrip("@")


def _email(v: Any) -> str:
    if not isinstance(v, str) or not _EMAIL.match(v.strip()):
        raise ValueError(f"{v!r} is not a mail address")
    return v.strip().lower()


def _priority(v: Any) -> Priority:
    if not isinstance(v, str):
        raise ValueError(f"expected P1, P2, P3 or P4 (got {v!r})")
    return Priority.parse(v)


Phone = Annotated[str, BeforeValidator(_phone)]
Domain = Annotated[str, BeforeValidator(_domain)]
Email = Annotated[str, BeforeValidator(_email)]
PriorityField = Annotated[Priority, BeforeValidator(_priority)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _database_url(v: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        backend = make_url(v).get_backend_name()
    except ArgumentError:
        raise ValueError(f"{v!r} is not a database URL (expected sqlite:///PATH or "
                         "postgresql://USER@HOST:PORT/DB)") from None
    if backend not in {"sqlite", "postgresql"}:
        raise ValueError(f"{backend!r} databases are not supported (use sqlite:/// or "
                         "postgresql://)")
    return v


DatabaseUrl = Annotated[str, AfterValidator(_database_url)]


class StorageSettings(_Section):
    url: DatabaseUrl = Field("sqlite:///supportbot.db", min_length=1,
                     description="SQLAlchemy URL of the database")
    schema_: str | None = Field(None, alias="schema", description="PostgreSQL schema to use")
    auto_upgrade: bool = Field(True, description="bring the schema up to date at `run`")
    echo: bool = Field(False, description="log every SQL statement")


class PolicySettings(_Section):
    default: str = Field("panenco", description="policy for tickets of no known client")
    paths: tuple[Path, ...] = Field((), description="extra folders searched for NAME.toml")


class ClientSettings(_Section):
    name: Annotated[str, Field(min_length=1)]
    policy: str | None = None
    email_domains: tuple[Domain, ...] = ()
    emails: tuple[Email, ...] = ()
    phones: tuple[Phone, ...] = ()
    slack_channels: tuple[str, ...] = ()
    triage_channel: str | None = None
    invoice_amount: Annotated[float, Field(ge=0)] = 0.0
    currency: str = "EUR"
    default_priority: PriorityField | None = None


class StaffSettings(_Section):
    name: Annotated[str, Field(min_length=1)]
    email: Email | None = None
    slack_user: str | None = None
    phone: Phone | None = None


class SmtpSettings(_Section):
    """The SMTP listener clients' mail arrives at."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 2525
    hostname: str | None = None
    max_message_bytes: Annotated[int, Field(ge=1024)] = 25 * 1024 * 1024
    tls_cert: Path | None = None
    tls_key: Path | None = None
    require_starttls: bool = False

    @model_validator(mode="after")
    def _tls_pair(self) -> SmtpSettings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together: give both or neither")
        if self.require_starttls and self.tls_cert is None:
            raise ValueError("require_starttls needs tls_cert and tls_key")
        return self


class MailSettings(_Section):
    """How mail is answered."""

    support_addresses: tuple[Email, ...] = ("support@localhost",)
    from_address: Email | None = None
    unknown_senders: Literal["accept", "reject"] = "accept"
    phone_number: Phone | None = None
    ack_limit_per_hour: Annotated[int, Field(ge=0)] = 5
    reopen_within_hours: Annotated[int, Field(ge=0)] = 168
    max_attachment_bytes: Annotated[int, Field(ge=0)] = 10 * 1024 * 1024
    parse_processes: Annotated[int, Field(ge=0, le=64)] = 1
    """Processes that parse a backlog ahead of processing (0: the processing thread parses)."""

    @property
    def sender(self) -> str:
        return self.from_address or self.support_addresses[0]


class RelaySettings(_Section):
    """The outbound relay acknowledgements and replies go through; none: they wait in the outbox."""

    host: str | None = None
    port: Annotated[int, Field(ge=1, le=65535)] = 25
    username: str | None = None
    password: SecretStr | None = None
    security: Literal["none", "starttls", "tls"] = "none"
    timeout_seconds: Annotated[float, Field(gt=0)] = 30.0
    poll_seconds: Annotated[float, Field(gt=0, le=300)] = 5.0
    """How often the outbox is looked at for mail due (a retry), besides being woken when
    mail is queued."""


class ImapSettings(_Section):
    """An IMAP mailbox to poll, for installs where support@ lives on a mail server."""

    enabled: bool = False
    host: str = ""
    port: Annotated[int, Field(ge=1, le=65535)] = 993
    username: str = ""
    password: SecretStr = SecretStr("")
    folder: str = "INBOX"
    security: Literal["tls", "starttls", "none"] = "tls"
    move_to: str | None = None
    poll_seconds: Annotated[int, Field(ge=1)] = 60
    idle: bool = True

    @model_validator(mode="after")
    def _complete(self) -> ImapSettings:
        if self.enabled and not (self.host and self.username):
            raise ValueError("an enabled IMAP poller needs host and username")
        return self


class LogSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"


class SchedulerSettings(_Section):
    enabled: bool = True
    sweep_seconds: Annotated[int, Field(ge=1, le=3600)] = 60


class ReminderSettings(_Section):
    """Where deadline reminders go besides the log, and how fast the scheduler reacts."""

    mail_to: tuple[Email, ...] = ()
    """Addresses that get every reminder meant for the triage channel, by mail."""
    mail_assignee: bool = False
    """Also mail reminders to the assignee's ``staff[].email``."""
    poll_seconds: Annotated[float, Field(ge=0.05, le=60)] = 1.0
    """How often the scheduler takes re-plan requests and tries for the scheduler lock."""


class WebSettings(_Section):
    """The bot's web app: Slack and Twilio webhooks, ``/healthz`` and ``/metrics``."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8080
    public_url: str | None = None
    """The URL the outside world reaches the app at (``https://bot.example.com``); webhook
    signatures are checked against it, so it must be exact behind a proxy."""

    @model_validator(mode="after")
    def _public_url(self) -> WebSettings:
        if self.public_url is not None and not re.match(r"^https?://[^/\s]+(/\S*)?$",
                                                        self.public_url):
            raise ValueError(f"public_url {self.public_url!r} is not an http(s) URL")
        return self


class SlackSettings(_Section):
    """Slack: tickets from channels, triage posts, ``/ticket`` and buttons."""

    enabled: bool = False
    mode: Literal["http", "socket"] = "http"
    bot_token: SecretStr = SecretStr("")
    signing_secret: SecretStr = SecretStr("")
    app_token: SecretStr = SecretStr("")
    """``xapp-...``: only Socket Mode uses it."""
    api_base_url: str = "https://slack.com/api/"
    ticket_reaction: str = "ticket"
    triage_channel: str | None = None
    """Where tickets of clients without a triage channel of their own are posted."""

    @model_validator(mode="after")
    def _complete(self) -> SlackSettings:
        if not re.match(r"^https?://[^/\s]+(/\S*)?$", self.api_base_url):
            raise ValueError(f"api_base_url {self.api_base_url!r} is not an http(s) URL")
        if not self.enabled:
            return self
        if not self.bot_token.get_secret_value():
            raise ValueError("an enabled Slack app needs bot_token")
        if self.mode == "http" and not self.signing_secret.get_secret_value():
            raise ValueError("Slack over HTTP needs signing_secret")
        if self.mode == "socket" and not self.app_token.get_secret_value():
            raise ValueError("Slack in socket mode needs app_token (xapp-...)")
        return self

    @property
    def base_url(self) -> str:
        return self.api_base_url if self.api_base_url.endswith("/") else self.api_base_url + "/"
class TwilioSettings(_Section):
    """Twilio: the P1 follow-up call from the client, and paging on-call."""

    enabled: bool = False
    account_sid: str = ""
    auth_token: SecretStr = SecretStr("")
    from_number: Phone | None = None
    api_base_url: str = "https://api.twilio.com"
    """Where the REST API is reached: Twilio's, or a proxy or test double."""
    link_window_minutes: Annotated[int, Field(ge=0, le=24 * 60)] = 30
    followup_within_minutes: Annotated[int, Field(ge=1, le=7 * 24 * 60)] = 60
    poll_seconds: Annotated[float, Field(gt=0, le=300)] = 5.0

    @model_validator(mode="after")
    def _complete(self) -> TwilioSettings:
        if not re.match(r"^https?://[^/\s]+(/\S*)?$", self.api_base_url):
            raise ValueError(f"api_base_url {self.api_base_url!r} is not an http(s) URL")
        if self.enabled:
            if not re.match(r"^AC[0-9a-fA-F]{32}$", self.account_sid):
                raise ValueError("an enabled Twilio needs account_sid (AC followed by 32 hex "
                                 "digits)")
            if not self.auth_token.get_secret_value():
                raise ValueError("an enabled Twilio needs auth_token")
            if self.from_number is None:
                raise ValueError("an enabled Twilio needs from_number (E.164)")
        return self


class ShiftSettings(_Section):
    start: str
    """``mon 09:00``: the shift runs until the next one starts (in ``oncall.timezone``)."""
    numbers: tuple[Phone, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _start(self) -> ShiftSettings:
        shift_start(self.start)
        return self


class OnCallSettings(_Section):
    """Who is paged for a P1, and how."""

    numbers: tuple[Phone, ...] = ()
    rota: tuple[ShiftSettings, ...] = ()
    timezone: str = "Europe/Brussels"
    interval_seconds: Annotated[int, Field(ge=10, le=3600)] = 300
    attempts_per_number: Annotated[int, Field(ge=1, le=10)] = 2
    answer_timeout_seconds: Annotated[int, Field(ge=10, le=3600)] = 180
    sms: bool = True

    @model_validator(mode="after")
    def _one_way(self) -> OnCallSettings:
        if self.numbers and self.rota:
            raise ValueError("give numbers or rota, not both")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone {self.timezone!r} is not a known time zone") from None
        return self


class Settings(_Section):
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
    source: str = Field("defaults", exclude=True)

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
            slack_channels=c.slack_channels, triage_channel=c.triage_channel,
            invoice_amount=c.invoice_amount,
            currency=c.currency, default_priority=c.default_priority,
        ) for c in self.clients]

    def staff_objects(self) -> list[Staff]:
        return [Staff(s.name, s.email, s.slack_user, s.phone) for s in self.staff]


def _env_value(name: str, raw: str) -> Any:
    """Arrays and tables in variables are written as TOML (``["a", "b"]``); the rest is text that
    the field's type converts (``true``, ``8``)."""
    if raw.strip().startswith(("[", "{")):
        try:
            return tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(name, "", f"not a TOML array or table: {e}") from None
    return raw


def _apply_env(data: dict[str, Any], env: Mapping[str, str]) -> dict[str, str]:
    """Overlay ``SUPPORTBOT_A__B=v`` onto ``data``; returns dotted key -> variable name."""
    origin: dict[str, str] = {}
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or name in NOT_SETTINGS:
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX):].split("__")]
        if not all(parts):
            raise ConfigError(name, "", "empty level in the variable name (use A__B)")
        node = data
        for p in parts[:-1]:
            nxt = node.setdefault(p, {})
            if not isinstance(nxt, dict):
                nxt = node[p] = {}  # replaced, so validation reports it at this variable
            node = nxt
        node[parts[-1]] = _env_value(name, env[name])
        origin[".".join(parts)] = name
    return origin


def _variable_for(key: str, origin: Mapping[str, str]) -> str | None:
    """The variable that set ``key`` or a table or array above it (``clients`` for
    ``clients[0].phones[0]``), or that set something below it."""
    for k, var in origin.items():
        if key == k or key.startswith((k + ".", k + "[")) or k.startswith(key + "."):
            return var
    return None


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
    origin = _apply_env(data, env)
    source = str(file) if file else "defaults"

    def blame(err: ConfigError) -> ConfigError:
        var = _variable_for(err.key, origin)
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
    return settings


def _is_path(policy: str) -> bool:
    return policy.endswith(".toml") or "/" in policy


def _named_policies(s: Settings) -> list[tuple[str, str]]:
    named = [("policies.default", s.policies.default)]
    named += [(f"clients[{i}].policy", c.policy) for i, c in enumerate(s.clients) if c.policy]
    return named
