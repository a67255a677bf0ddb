"""Fees and invoices end to end: hours logged on real tickets at their priorities, a sprint's
report with its amount (hours x rates, or a flat fee) and credits, sent for approval by real
mail, accepted or challenged by the contacts' replies through the SMTP intake or accepted
automatically, then invoiced: held back with the reason until accepted. The expected figures are
computed here from the history the test made (priority at each log, the clocks' own breaches),
not copied from the code's output."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from adapters.cli import main
from bot.priority import Priority
from bot.reports import render
from bot.reports.invoices import COLUMNS
from tests.mailbot import Bot, reply_to

BXL = ZoneInfo("Europe/Brussels")
PERIOD = "2026-11-23/2026-12-06"  # a panenco sprint
START, END = datetime(2026, 11, 23, tzinfo=BXL), datetime(2026, 12, 7, tzinfo=BXL)
RATES = {"P1": 150, "P2": 120.5, "P3": 95, "P4": 80}
CLIENTS = [
    {"name": "globex", "policy": "panenco", "emails": ["cto@globex.example"], "rates": RATES},
    {"name": "initech", "policy": "panenco", "emails": ["boss@initech.example"],
     "invoice_amount": 5000.0, "currency": "USD"},
    {"name": "hooli", "policy": "panenco", "emails": ["ops@hooli.example"],
     "invoice_amount": 3000.0},
]
CREDIT_SHARE = Decimal("0.25")  # panenco: 25% per P1/P2 resolution breach after the first
CENT = Decimal("0.01")


def bxl(d: int, h: int, mo: int = 11) -> datetime:
    return datetime(2026, mo, d, h, tzinfo=BXL)


class History:
    """What the test did, to compute the expected invoice from."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.hours: dict[str, dict[str, Decimal]] = {}  # client -> priority -> hours in period

    def ticket(self, client: str, priority: Priority, *, cause: bool = True) -> str:
        hd = self.bot.app.helpdesk
        ref = hd.register(subject=f"{client} {priority}", client=client, priority=priority,
                          actor="cli:alice", reason="staff").reference
        if cause:
            hd.confirm_cause(ref, actor="cli:alice")
        return ref

    def log(self, client: str, ref: str, hours: float, at: datetime) -> None:
        self.bot.clock.set(at)
        level = self.bot.app.helpdesk.show(ref).ticket.priority.value  # as it is now
        self.bot.app.helpdesk.log_time(ref, hours, actor="cli:alice")
        if START <= at < END:
            mine = self.hours.setdefault(client, {})
            mine[level] = mine.get(level, Decimal(0)) + Decimal(str(hours))

    def charged_breaches(self, refs: list[str]) -> list[tuple[datetime, str, str]]:
        """P1/P2 resolution breaches (due, reference, priority) in order, the first free."""
        out = []
        for ref in refs:
            view = self.bot.app.helpdesk.show(ref)
            c = view.clocks["resolution"]
            if c.breached and view.ticket.priority in (Priority.P1, Priority.P2):
                assert c.due is not None and START <= c.due < END
                out.append((c.due, ref, view.ticket.priority.value))
        return sorted(out)[1:]


def money(x: Decimal) -> Decimal:
    return x.quantize(CENT, ROUND_HALF_UP)


@pytest.fixture
def sprint(make_bot) -> tuple[Bot, History, dict[str, list[str]]]:  # type: ignore[no-untyped-def]
    bot: Bot = make_bot(clients=CLIENTS)
    h = History(bot)
    bot.clock.set(bxl(23, 9))
    refs = {
        "globex": [h.ticket("globex", Priority.P1), h.ticket("globex", Priority.P2),
                   h.ticket("globex", Priority.P2), h.ticket("globex", Priority.P3, cause=False)],
        "initech": [h.ticket("initech", Priority.P3)],
        "hooli": [h.ticket("hooli", Priority.P1), h.ticket("hooli", Priority.P1)],
    }
    a, b, c, d = refs["globex"]
    h.log("globex", a, 1.5, bxl(23, 10))
    h.log("globex", b, 2.25, bxl(23, 11))
    h.log("globex", c, 0.75, bxl(23, 12))
    h.log("globex", d, 0.5, bxl(23, 13))
    bot.app.helpdesk.set_priority(d, Priority.P1, actor="cli:alice", reason="worse")
    h.log("globex", d, 1.25, bxl(24, 9))  # at P1 now
    h.log("initech", refs["initech"][0], 2, bxl(24, 10))
    # resolutions: the P1 a day late, both P2s after their 24 working hours, the rest in time
    for ref, at in ((a, bxl(24, 10)), (b, bxl(26, 10)), (c, bxl(27, 10)),
                    (refs["hooli"][0], bxl(24, 11)), (refs["hooli"][1], bxl(25, 11)),
                    (refs["initech"][0], bxl(24, 12))):
        bot.clock.set(at)
        bot.app.helpdesk.resolve(ref, actor="cli:alice")
    h.log("globex", b, 4, bxl(7, 9, mo=12))  # after the sprint: not in its invoice
    return bot, h, refs


def expected_globex(h: History, refs: list[str]) -> tuple[dict[str, Decimal], Decimal, Decimal,
                                                           list[str]]:
    amounts = {p: money(hours * Decimal(str(RATES[p]))) for p, hours in h.hours["globex"].items()}
    total = sum(amounts.values(), Decimal(0))
    charged = h.charged_breaches(refs)
    return amounts, total, money(total * CREDIT_SHARE * len(charged)), [p for _, _, p in charged]


def test_the_report_shows_the_amount_of_hours_times_rates_and_credits_share_it(sprint) -> None:  # type: ignore[no-untyped-def]
    bot, h, refs = sprint
    bot.clock.set(bxl(7, 10, mo=12))
    r = bot.app.reporting.report("globex", PERIOD)
    amounts, total, credit, _ = expected_globex(h, refs["globex"])
    assert r.billing == "hourly" and r.invoice_amount == total
    assert {f.priority.value: f.amount for f in r.fees if f.hours} == amounts
    assert {f.priority.value: f.hours for f in r.fees if f.hours} == h.hours["globex"]
    assert r.credit_total == credit and credit > 0
    md, page = render(r, "md"), render(r, "html")
    assert f"Amount for the period: {total:.2f} EUR; net of credits: {total - credit:.2f} EUR" in md
    assert f"P1: {h.hours['globex']['P1']:.2f} h x 150.00 EUR/h = {amounts['P1']:.2f} EUR" in md
    assert f"<th>{total:.2f} EUR</th>" in page and "Rate per hour" in page
    assert json.loads(render(r, "json"))["fees"][1] == {
        "priority": "P2", "hours": f"{h.hours['globex']['P2']:.2f}", "rate": "120.50",
        "amount": f"{amounts['P2']:.2f}"}
    flat = bot.app.reporting.report("initech", PERIOD)
    assert flat.billing == "flat" and flat.invoice_amount == Decimal("5000.00")
    assert "Flat fee for the period: 5000.00 USD." in render(flat, "md")


def _export(bot: Bot) -> list[dict[str, str]]:
    lines = bot.app.invoicing.lines()
    return [line.row() for line in lines]


def test_only_accepted_reports_are_invoiced_and_the_others_say_why(sprint, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                    capsys, no_supportbot_env
                                                                    ) -> None:
    bot, h, refs = sprint
    app = bot.app
    bot.clock.set(bxl(7, 10, mo=12))
    sent = {c: app.approvals.send(app.reporting.report(c, "previous"), app.helpdesk.client(c))
            for c in ("globex", "initech", "hooli")}
    mails = {m["To"]: m for m in bot.deliver()}
    assert len(mails) == 3
    held = {i.sent.client: i.held for i in app.invoicing.list()}
    assert all(reason.startswith("waiting for the client's answer (accepted automatically "
                                 "after 2026-12-21 18:00)") for reason in held.values()), held
    assert _export(bot) == []

    bot.clock.set(bxl(8, 9, mo=12))
    outcome, _ = bot.roundtrip(reply_to(mails["cto@globex.example"], "cto@globex.example",
                                        "Accept\nThanks."))
    assert outcome.action == f"report {sent['globex'].id} accepted by cto@globex.example"
    outcome, _ = bot.roundtrip(reply_to(mails["boss@initech.example"], "boss@initech.example",
                                        "Challenge\nThe two hours were a meeting."))
    assert "challenged" in outcome.action

    amounts, total, credit, charged_at = expected_globex(h, refs["globex"])
    rows = _export(bot)
    assert {r["report_id"] for r in rows} == {str(sent["globex"].id)}  # hooli waits, initech held
    assert [r["priority"] for r in rows] == sorted(amounts)  # no line for P4: no hours
    for r in rows:
        p = r["priority"]
        assert (r["client"], r["period"], r["currency"]) == ("globex", PERIOD, "EUR")
        assert Decimal(r["hours"]) == h.hours["globex"][p]
        assert Decimal(r["rate"]) == Decimal(str(RATES[p]))
        assert Decimal(r["amount"]) == amounts[p]
        assert Decimal(r["net"]) == Decimal(r["amount"]) - Decimal(r["credits"])
        assert (Decimal(r["credits"]) > 0) == (p in charged_at)
    assert sum(Decimal(r["credits"]) for r in rows) == credit
    assert sum(Decimal(r["net"]) for r in rows) == total - credit
    initech = app.invoicing.show(sent["initech"].id)  # type: ignore[arg-type]
    assert initech.held == ("challenged by boss@initech.example on 2026-12-08 09:00: Challenge "
                            "The two hours were a meeting.")
    assert initech.amount == Decimal("5000.00")  # what it would invoice, shown in the list

    # nobody answered hooli: accepted automatically once the tenth working day has closed
    bot.clock.set(bxl(21, 18, mo=12) + timedelta(seconds=1))
    hooli = app.invoicing.show(sent["hooli"].id)  # type: ignore[arg-type]
    assert (hooli.state, hooli.held) == ("accepted automatically", "")
    hooli_charged = h.charged_breaches(refs["hooli"])
    assert len(hooli_charged) == 1
    (line,) = hooli.lines
    assert (line.priority, line.rate, line.amount, line.credits, line.currency) == (
        "all", None, Decimal("3000.00"), money(Decimal(3000) * CREDIT_SHARE), "EUR")

    # the command line gives the same lines, as CSV for an accounting import
    config = tmp_path / "supportbot.toml"
    url = app.db.url.render_as_string(hide_password=False)
    config.write_text(f"[storage]\nurl = {json.dumps(url)}\n"
                      + (f"schema = {json.dumps(app.db.schema)}\n" if app.db.schema else "")
                      + "".join(_client_toml(c) for c in CLIENTS), encoding="utf-8")
    out = tmp_path / "invoices.csv"
    assert main(["--config", str(config), "invoices", "export", "--format", "csv",
                 "--client", "globex", "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(COLUMNS)
    assert list(csv.DictReader(io.StringIO(text))) == rows
    capsys.readouterr()
    assert main(["--config", str(config), "invoices", "list", "--client", "initech"]) == 0
    listed = capsys.readouterr().out
    assert "held: challenged by boss@initech.example" in listed and "5000.00" in listed
    assert main(["--config", str(config), "invoices", "show", "999"]) == 1


def _client_toml(c: dict) -> str:
    lines = ["\n[[clients]]"]
    for k, v in c.items():
        if isinstance(v, dict):
            v = "{" + ", ".join(f"{p} = {r}" for p, r in v.items()) + "}"
        else:
            v = json.dumps(v)
        lines.append(f"{k} = {v}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("extra, message", [
    ('rates = {P1 = 150, P2 = 120, P3 = 95, P4 = 80}\ninvoice_amount = 100',
     "give rates (billed by the hour) or invoice_amount (a flat fee), not both"),
    ('rates = {P1 = 150, p2 = 120}', "rates has no rate for P3, P4"),
    ('rates = {P1 = -1, P2 = 1, P3 = 1, P4 = 1}', "greater than or equal to 0"),
    ('rates = {P5 = 1}', "P5"),
    ('currency = "euro"', "currency"),
])
def test_a_rate_mistake_names_the_key_and_the_file(tmp_path: Path, extra: str,
                                                   message: str) -> None:
    from bot.errors import ConfigError
    from config.settings import load_settings

    path = tmp_path / "settings.toml"
    path.write_text(f'[[clients]]\nname = "acme"\n{extra}\n', encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_settings(path, env={}, cwd=tmp_path)
    assert message in str(exc.value) and "settings.toml" in str(exc.value)
    assert "clients" in str(exc.value)


def test_the_settings_rates_become_the_clients_rates(tmp_path: Path) -> None:
    from config.settings import load_settings

    path = tmp_path / "settings.toml"
    path.write_text('[[clients]]\nname = "acme"\nrates = {p2 = 120.5, P1 = 150, P3 = 0, P4 = 80}'
                    '\n', encoding="utf-8")
    (acme,) = load_settings(path, env={}, cwd=tmp_path).client_objects()
    assert acme.rates == ((Priority.P1, 150.0), (Priority.P2, 120.5), (Priority.P3, 0.0),
                          (Priority.P4, 80.0))
    assert acme.rate(Priority.P2) == 120.5


def test_migration_14_gives_existing_clients_and_sent_reports_no_rates_and_no_figures(
        database) -> None:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from adapters.storage import SCHEMA_VERSION, SqlUnitOfWork

    fresh = {t: sorted(c["name"] for c in sa.inspect(database.engine).get_columns(t))
             for t in ("client", "sent_report")}
    with database.write_engine.begin() as conn:  # the schema as release 11 left it
        conn.execute(sa.text("ALTER TABLE client DROP COLUMN rates"))
        conn.execute(sa.text("ALTER TABLE client DROP COLUMN slack_users"))
        conn.execute(sa.text("ALTER TABLE sent_report DROP COLUMN figures"))
        conn.execute(sa.text(
            "INSERT INTO client (name, policy, email_domains, emails, phones, slack_channels, "
            "invoice_amount, currency) VALUES ('old', 'panenco', '[]', '[]', '[]', '[]', 900, "
            "'EUR')"))
        conn.execute(sa.text("UPDATE schema_version SET version = 11"))
    assert database.upgrade() == (11, SCHEMA_VERSION)
    database.check()
    assert {t: sorted(c["name"] for c in sa.inspect(database.engine).get_columns(t))
            for t in fresh} == fresh
    with SqlUnitOfWork(database) as uow:
        old = uow.clients.get("old")
        assert old is not None and old.rates == () and old.invoice_amount == 900
        assert old.slack_users == ()


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_generated_histories_give_the_amount_and_credits_computed_here(seed: int) -> None:
    from bot.model import Client
    from bot.reports.invoices import figures
    from tests.test_reports import SPRINT, expected, generate, report

    rates = {Priority.P1: 150.0, Priority.P2: 120.5, Priority.P3: 95.0, Priority.P4: 80.25}
    hourly = Client(name="acme", policy="panenco", rates=tuple(rates.items()), id=1)
    plans = generate(seed, 120)
    now = datetime(2027, 6, 1, tzinfo=BXL)
    want = expected(plans, SPRINT, now)
    r = report([p.t for p in plans], SPRINT, now, client=hourly)
    amount = sum((money(want["hours"][p.value] * Decimal(str(rate))) for p, rate in rates.items()),
                 Decimal(0))
    charged = [b for b in want["breaches"] if b[1] == "resolution"  # in the order they ran
               and b[4] in ("P1", "P2")][1:]  # late (due, reference); the first is free
    assert r.invoice_amount == amount and amount > 0
    assert r.credit_total == money(amount * CREDIT_SHARE * len(charged))
    lines = figures(r)["lines"]
    assert sum(Decimal(line["credits"]) for line in lines) == r.credit_total
    assert sum(Decimal(line["amount"]) for line in lines) == amount
    assert {line["priority"] for line in lines if Decimal(line["credits"])} == \
        {b[4] for b in charged}
    assert len(charged) >= 2  # the generator produced credits to share


def test_a_report_sent_before_its_period_ended_is_invoiced_as_accepted_and_says_so(
        sprint) -> None:  # type: ignore[no-untyped-def]
    bot, h, refs = sprint
    app = bot.app
    bot.clock.set(bxl(4, 12, mo=12))  # Friday of the sprint's second week
    r = app.reporting.report("globex", "current")
    assert not r.final
    sent = app.approvals.send(r, app.helpdesk.client("globex"))
    assert sent.id is not None
    h.log("globex", refs["globex"][0], 1, bxl(4, 15, mo=12))  # after the send: on no invoice
    app.approvals.decide(sent.id, "accepted", actor="cli:alice", note="by phone")
    invoice = app.invoicing.show(sent.id)
    assert (invoice.state, invoice.held, invoice.provisional) == ("accepted", "", True)
    assert invoice.amount == r.invoice_amount  # the figures the client accepted
    bot.clock.set(bxl(7, 9, mo=12))
    assert invoice.amount == app.reporting.report("globex", PERIOD).invoice_amount - 150
