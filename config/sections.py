"""The core tables of the settings file: storage, policies, clients, staff, mail in and out,
logging, the scheduler, reminders and the web app."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from bot.priority import Priority
from config.fields import DatabaseUrl, Domain, Email, Phone, PriorityField, Section
from config.trackers import TrackerSettings


class StorageSettings(Section):
    url: DatabaseUrl = Field("sqlite:///supportbot.db", min_length=1,
                     description="SQLAlchemy URL of the database")
    schema_: str | None = Field(None, alias="schema", description="PostgreSQL schema to use")
    auto_upgrade: bool = Field(True, description="bring the schema up to date at `run`")
    echo: bool = Field(False, description="log every SQL statement")


class PolicySettings(Section):
    default: str = Field("panenco", description="policy for tickets of no known client")
    paths: tuple[Path, ...] = Field((), description="extra folders searched for NAME.toml")


class ClientSettings(Section):
    name: Annotated[str, Field(min_length=1)]
    policy: str | None = None
    email_domains: tuple[Domain, ...] = ()
    emails: tuple[Email, ...] = ()
    phones: tuple[Phone, ...] = ()
    slack_channels: tuple[str, ...] = ()
    slack_users: tuple[Annotated[str, Field(pattern=r"^[UW][A-Z0-9]+$")], ...] = ()
    triage_channel: str | None = None
    invoice_amount: Annotated[float, Field(ge=0)] = 0.0
    rates: dict[PriorityField, Annotated[float, Field(ge=0)]] = Field(default_factory=dict)
    """Hourly rate per priority (``{P1 = 150, P2 = 120, P3 = 95, P4 = 80}``) in ``currency``."""
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "EUR"
    default_priority: PriorityField | None = None
    tracker: TrackerSettings | None = None
    """The client's joint tracker (Jira, Trello or Asana) its tickets are mirrored to."""

    @model_validator(mode="after")
    def _one_way_to_bill(self) -> ClientSettings:
        if self.rates and self.invoice_amount:
            raise ValueError(f"client {self.name}: give rates (billed by the hour) or "
                             "invoice_amount (a flat fee), not both")
        missing = [p.value for p in Priority if self.rates and p not in self.rates]
        if missing:
            raise ValueError(f"client {self.name}: rates has no rate for {', '.join(missing)} "
                             "(give every priority; 0 for one not billed)")
        return self


class StaffSettings(Section):
    name: Annotated[str, Field(min_length=1)]
    email: Email | None = None
    slack_user: str | None = None
    phone: Phone | None = None
    role: Literal["manager", "agent"] | None = None
    """``manager``: told at the reminder steps whose ladder names ``manager``."""


class SmtpSettings(Section):
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


class MailSettings(Section):
    """How mail is answered."""

    support_addresses: tuple[Email, ...] = ("support@localhost",)
    from_address: Email | None = None
    team_name: Annotated[str, Field(min_length=1, max_length=80)] = "Support"
    """Signs staff replies to clients, after the staff member's name when the actor is one."""
    unknown_senders: Literal["accept", "reject"] = "accept"
    phone_number: Phone | None = None
    ack_limit_per_hour: Annotated[int, Field(ge=0)] = 5
    reopen_within_hours: Annotated[int, Field(ge=0)] = 168
    late_reply: Literal["new_ticket", "follow_up"] = "new_ticket"
    """A client's mail on a ticket resolved longer than ``reopen_within_hours`` ago: a new
    ticket linked to the old one, or a follow-up on the old one that triage is told of."""
    max_attachment_bytes: Annotated[int, Field(ge=0)] = 10 * 1024 * 1024
    parse_processes: Annotated[int, Field(ge=0, le=64)] = 1
    """Processes that parse a backlog ahead of processing (0: the processing thread parses)."""

    @property
    def sender(self) -> str:
        return self.from_address or self.support_addresses[0]


class RelaySettings(Section):
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


class ImapSettings(Section):
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


class LogSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"


class SchedulerSettings(Section):
    enabled: bool = True
    sweep_seconds: Annotated[int, Field(ge=1, le=3600)] = 60


class ReminderSettings(Section):
    """Where deadline reminders go besides the log, and how fast the scheduler reacts."""

    mail_to: tuple[Email, ...] = ()
    """Addresses that get every reminder meant for the triage channel, by mail."""
    mail_assignee: bool = False
    """Also mail reminders to the assignee's ``staff[].email``."""
    poll_seconds: Annotated[float, Field(ge=0.05, le=60)] = 1.0
    """How often the scheduler takes re-plan requests and tries for the scheduler lock."""


class WebSettings(Section):
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


class ClientLinkSettings(Section):
    """Signed links in the client's mail: the ticket's status page and the rating links."""

    secret: SecretStr | None = None
    """Signs the links (HMAC-SHA256); none: no links. Changing it voids every link sent."""
    status_days: Annotated[int, Field(ge=1, le=3650)] = 90
    rating_days: Annotated[int, Field(ge=1, le=365)] = 30

    @field_validator("secret")
    @classmethod
    def _long_secret(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is not None and len(secret.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters (e.g. the output of "
                             "`openssl rand -hex 32`)")
        return secret
