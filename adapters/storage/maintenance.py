"""Storage for maintenance windows."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, col, select

from adapters.storage.tables import MaintenanceRow
from bot.errors import StorageError
from bot.maintenance import MaintenanceWindow


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _window(row: MaintenanceRow) -> MaintenanceWindow:
    return MaintenanceWindow(
        key=row.key, start=_utc(row.start_at), end=_utc(row.end_at), summary=row.summary,
        clients=tuple(row.clients), announced_at=_utc(row.announced_at),
        announced_by=row.announced_by, hotfix=row.hotfix, release_notes=row.release_notes,
        started_told_at=_utc(row.started_told_at) if row.started_told_at else None,
        ended_told_at=_utc(row.ended_told_at) if row.ended_told_at else None, id=row.id)


class SqlMaintenanceRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, window: MaintenanceWindow) -> MaintenanceWindow:
        row = MaintenanceRow(
            key=window.key, start_at=window.start.astimezone(UTC),
            end_at=window.end.astimezone(UTC), summary=window.summary,
            clients=list(window.clients), hotfix=window.hotfix,
            release_notes=window.release_notes, announced_at=window.announced_at.astimezone(UTC),
            announced_by=window.announced_by)
        self.s.add(row)
        self.s.flush()
        return _window(row)

    def get(self, key: str) -> MaintenanceWindow | None:
        row = self.s.exec(select(MaintenanceRow).where(MaintenanceRow.key == key)).first()
        return _window(row) if row else None

    def list(self) -> list[MaintenanceWindow]:
        q = select(MaintenanceRow).order_by(col(MaintenanceRow.start_at), col(MaintenanceRow.id))
        return [_window(r) for r in self.s.exec(q)]

    def overlapping(self, client: str, start: datetime, end: datetime) -> list[MaintenanceWindow]:
        q = select(MaintenanceRow).where(col(MaintenanceRow.start_at) < end.astimezone(UTC),
                                         col(MaintenanceRow.end_at) > start.astimezone(UTC))
        return [w for w in (_window(r) for r in self.s.exec(q.order_by(
            col(MaintenanceRow.start_at)))) if client in w.clients]

    def due(self, now: datetime) -> list[MaintenanceWindow]:
        at = now.astimezone(UTC)
        q = select(MaintenanceRow).where(
            col(MaintenanceRow.ended_told_at).is_(None) & (col(MaintenanceRow.end_at) <= at)
            | col(MaintenanceRow.started_told_at).is_(None) & (col(MaintenanceRow.start_at) <= at)
            & col(MaintenanceRow.ended_told_at).is_(None)
        ).order_by(col(MaintenanceRow.start_at), col(MaintenanceRow.id)).with_for_update()
        return [_window(r) for r in self.s.exec(q)]

    def mark_told(self, key: str, phase: str, at: datetime) -> None:
        row = self.s.exec(select(MaintenanceRow).where(MaintenanceRow.key == key)).first()
        if row is None:
            raise StorageError(f"no maintenance window {key}")
        when = at.astimezone(UTC)
        if row.started_told_at is None:
            row.started_told_at = when
        if phase == "ended":
            row.ended_told_at = when
        self.s.add(row)
        self.s.flush()
