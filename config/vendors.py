"""The tables of the vendors the bot talks to: Slack, Twilio, and the on-call rota Twilio pages."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, model_validator

from bot.phone.paging import shift_start
from config.fields import Phone, Section


class SlackSettings(Section):
    """Slack: tickets from channels, triage posts, ``/ticket`` and buttons."""

    enabled: bool = False
    mode: Literal["http", "socket"] = "http"
    bot_token: SecretStr = SecretStr("")
    signing_secret: SecretStr = SecretStr("")
    app_token: SecretStr = SecretStr("")
    """``xapp-...``: only Socket Mode uses it (``load_settings`` checks it is there)."""
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
        return self

    @property
    def base_url(self) -> str:
        return self.api_base_url if self.api_base_url.endswith("/") else self.api_base_url + "/"


class TwilioSettings(Section):
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


class ShiftSettings(Section):
    start: str
    """``mon 09:00``: the shift runs until the next one starts (in ``oncall.timezone``)."""
    numbers: tuple[Phone, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _start(self) -> ShiftSettings:
        shift_start(self.start)
        return self


class OnCallSettings(Section):
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
