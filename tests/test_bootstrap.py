"""The composition root wires everything: one registry of alert sinks, the phone desk made a
listener by the root, the Slack notifier's wake-up given by the root, one unit-of-work factory
every service shares."""

from __future__ import annotations

from adapters.bootstrap import bootstrap
from adapters.slack.notify import SlackNotifier
from adapters.storage import Database, SqlUnitOfWork
from bot.clock import ManualClock
from bot.priority import Priority
from config.settings import Settings


def settings(database: Database, **extra: object) -> Settings:
    storage: dict[str, object] = {"url": database.url.render_as_string(hide_password=False)}
    if database.schema:
        storage["schema"] = database.schema
    return Settings.model_validate({
        "storage": storage,
        "clients": [{"name": "acme", "email_domains": ["acme.example"]}],
        "staff": [{"name": "alice", "email": "alice@provider.example", "phone": "+32470000001"}],
        **extra,
    })


EVERYTHING = {
    "reminders": {"mail_to": ["triage@provider.example"]},
    "slack": {"enabled": True, "bot_token": "xoxb-test", "signing_secret": "s",
              "triage_channel": "CTRIAGE"},
    "web": {"enabled": True, "public_url": "https://bot.provider.example"},
    "twilio": {"enabled": True, "account_sid": "AC" + "0" * 32, "auth_token": "t",
               "from_number": "+3215000000"},
    "oncall": {"numbers": ["+32470000001"]},
}


def names(sinks: object) -> list[str]:
    return [s.name for s in sinks]  # type: ignore[attr-defined]


def test_one_registry_of_alert_sinks_with_what_each_source_reaches(
        database: Database, clock: ManualClock) -> None:
    app = bootstrap(settings(database, **EVERYTHING), clock=clock)
    try:
        assert names(app.alert_sinks.for_reminders()) == ["log", "mail", "slack", "oncall-sms"]
        assert names(app.alert_sinks.for_phone()) == ["log", "slack", "oncall-sms"]
        # the desk was built before the on-call SMS sink was added: it still reaches it
        assert app.phone is not None and names(app.phone.sinks) == ["log", "slack", "oncall-sms"]
        assert app.helpdesk.listeners.count(app.phone) == 1  # P1s are paged, once
    finally:
        app.close()


def test_without_vendors_only_the_log_and_no_phone(database: Database,
                                                   clock: ManualClock) -> None:
    app = bootstrap(settings(database), clock=clock)
    try:
        # staff have mail addresses: a reminder step that tells someone directly mails them
        assert names(app.alert_sinks) == ["log", "mail"]
        assert names(app.alert_sinks.for_phone()) == ["log"]
        assert app.phone is None
        assert not any(isinstance(x, SlackNotifier) for x in app.helpdesk.listeners)
    finally:
        app.close()


def test_the_slack_notifier_wakes_what_is_connected_to_the_roots_signal(
        database: Database, clock: ManualClock) -> None:
    app = bootstrap(settings(database, slack=EVERYTHING["slack"], web=EVERYTHING["web"]),
                    clock=clock)
    woken: list[int] = []
    app.slack_queued.connect(lambda: woken.append(1))
    try:
        app.helpdesk.register(subject="Checkout down", client="acme", priority=Priority.P2,
                              actor="alice", reason="t")
        with app.uow(write=False) as uow:
            assert isinstance(uow, SqlUnitOfWork)
            queued = uow.slack.count_jobs().get("pending", 0)
        assert queued >= 1 and len(woken) >= 1, "the triage post queued, the sender woken"
    finally:
        app.close()
