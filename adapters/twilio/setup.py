"""Building the phone side from the settings (called by the composition root and the runner)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta

from adapters.inbox.processor import Inbox
from adapters.storage import UnitOfWorks
from adapters.twilio.component import KIND, TwilioComponent
from adapters.twilio.rest import TwilioTelephony
from bot.alerts import AlertSink
from bot.clock import Clock
from bot.errors import ConfigError
from bot.phone.desk import PhoneDesk
from bot.phone.paging import OnCall, Shift, shift_start
from bot.phone.ports import PhonePolicy
from bot.ports import PhoneUnitOfWork
from bot.services import Helpdesk
from config.settings import Settings


def oncall(settings: Settings) -> OnCall:
    o = settings.oncall
    rota = tuple(Shift(*shift_start(s.start), numbers=s.numbers) for s in o.rota)
    return OnCall(numbers=o.numbers, rota=rota, timezone=o.timezone,
                  interval=timedelta(seconds=o.interval_seconds),
                  attempts_per_number=o.attempts_per_number, sms=o.sms,
                  answer_timeout=timedelta(seconds=o.answer_timeout_seconds))


def phone_desk(settings: Settings, helpdesk: Helpdesk, uow: Callable[[], PhoneUnitOfWork],
               clock: Clock, sinks: Iterable[AlertSink] = ()) -> PhoneDesk | None:
    """The phone desk alerting ``sinks`` (iterated at each alert, so a live view sees sinks
    added later); None unless ``[twilio] enabled``. Builds no connection. The composition
    root makes it a listener of the helpdesk."""
    t = settings.twilio
    if not t.enabled:
        return None
    if not settings.web.public_url:
        raise ConfigError(settings.source, "web.public_url",
                          "Twilio needs the public URL its webhooks reach the bot at")
    if not (settings.oncall.numbers or settings.oncall.rota):
        raise ConfigError(settings.source, "oncall.numbers",
                          "Twilio pages on-call: give oncall.numbers or oncall.rota")
    assert t.from_number is not None  # the settings check it when enabled
    telephony = TwilioTelephony(t.account_sid, t.auth_token.get_secret_value(), t.from_number,
                                settings.web.public_url, t.api_base_url)
    policy = PhonePolicy(oncall=oncall(settings),
                         link_window=timedelta(minutes=t.link_window_minutes),
                         followup_within=timedelta(minutes=t.followup_within_minutes),
                         mail_sender=settings.mail.sender,
                         phone_number=settings.mail.phone_number)
    return PhoneDesk(helpdesk, uow, clock, policy, telephony, sinks)


def twilio_component(settings: Settings, desk: PhoneDesk, uow: UnitOfWorks, *,
                     probe_seconds: float = 30.0) -> TwilioComponent:
    assert settings.web.public_url is not None
    telephony = desk.telephony if isinstance(desk.telephony, TwilioTelephony) else None
    return TwilioComponent(desk, settings.twilio.auth_token.get_secret_value(),
                           settings.web.public_url, settings.twilio.poll_seconds,
                           inbox=Inbox(uow, desk.clock, KIND),
                           reach=telephony.reach if telephony else None,
                           probe=telephony.probe if telephony else None,
                           probe_seconds=probe_seconds)
