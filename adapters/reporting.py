"""Reports' services wired to an App (storage, clock, policies, mail sender)."""

from __future__ import annotations

from adapters.bootstrap import App
from adapters.storage import SqlUnitOfWork
from bot.reports.approval import Approvals
from bot.reports.service import Reporting


def reporting(app: App) -> Reporting:
    return Reporting(lambda: SqlUnitOfWork(app.db, write=False), app.clock,
                     app.helpdesk.policies)


def approvals(app: App) -> Approvals:
    return Approvals(lambda: SqlUnitOfWork(app.db), app.clock, app.helpdesk.policies,
                     app.settings.mail.sender)
