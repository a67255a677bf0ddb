"""Storage for maintenance windows and policy versions."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from adapters.storage.database import absent_values, as_utc
from adapters.storage.tables import MaintenanceRow, PolicyVersionRow
from bot.errors import StorageError
from bot.maintenance import MaintenanceWindow
from bot.policy_changes import ACKNOWLEDGED, PolicyVersion


def _window(row: MaintenanceRow) -> MaintenanceWindow:
    return MaintenanceWindow(
        key=row.key, start=as_utc(row.start_at), end=as_utc(row.end_at), summary=row.summary,
        clients=tuple(row.clients), announced_at=as_utc(row.announced_at),
        announced_by=row.announced_by, hotfix=row.hotfix, release_notes=row.release_notes,
        started_told_at=as_utc(row.started_told_at) if row.started_told_at else None,
        ended_told_at=as_utc(row.ended_told_at) if row.ended_told_at else None, id=row.id)


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


def _version(row: PolicyVersionRow) -> PolicyVersion:
    return PolicyVersion(
        client_id=row.client_id, policy=row.policy, version=row.version, content=row.content,
        recorded_at=as_utc(row.recorded_at), state=row.state, message_id=row.message_id,
        decided_at=as_utc(row.decided_at) if row.decided_at else None,
        decided_by=row.decided_by, id=row.id)


class SqlPolicyVersionRepository:
    """Policy versions per client (they change with the contract, next to maintenance)."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self._unsent: set[str] = set()  # Message-IDs known to be of no policy-change mail

    def add(self, version: PolicyVersion) -> PolicyVersion:
        self._unsent.clear()
        row = PolicyVersionRow(
            client_id=version.client_id, policy=version.policy, version=version.version,
            content=version.content, recorded_at=version.recorded_at.astimezone(UTC),
            state=version.state, message_id=version.message_id)
        self.s.add(row)
        self.s.flush()
        return _version(row)

    def latest(self, client_id: int, *, for_update: bool = False) -> PolicyVersion | None:
        q = select(PolicyVersionRow).where(PolicyVersionRow.client_id == client_id).order_by(
            col(PolicyVersionRow.id).desc()).limit(1)
        if for_update:
            q = q.with_for_update()
        row = self.s.exec(q).first()
        return _version(row) if row else None

    def last_acknowledged(self, client_id: int) -> PolicyVersion | None:
        q = select(PolicyVersionRow).where(
            PolicyVersionRow.client_id == client_id,
            col(PolicyVersionRow.state).in_(list(ACKNOWLEDGED))).order_by(
            col(PolicyVersionRow.id).desc()).limit(1)
        row = self.s.exec(q).first()
        return _version(row) if row else None

    def preload_message_ids(self, message_ids: Collection[str]) -> None:
        """A hint: ``by_message_ids`` will be asked of these; one statement now tells which
        are of no policy-change mail, so asking of those alone costs no statement."""
        self._unsent |= absent_values(self.s, col(PolicyVersionRow.message_id),
                                      {m for m in message_ids if m} - self._unsent)

    def by_message_ids(self, message_ids: Sequence[str]) -> PolicyVersion | None:
        ids = [m for m in message_ids if m][:100]
        if not ids or all(i in self._unsent for i in ids):
            return None
        row = self.s.exec(select(PolicyVersionRow).where(
            col(PolicyVersionRow.message_id).in_(ids)).order_by(
            col(PolicyVersionRow.id).desc())).first()
        return _version(row) if row else None

    def decide(self, version_id: int, state: str, *, at: datetime, by: str) -> PolicyVersion:
        row = self.s.get(PolicyVersionRow, version_id)
        if row is None:
            raise StorageError(f"no policy version {version_id}")
        row.state, row.decided_at, row.decided_by = state, at.astimezone(UTC), by
        self.s.add(row)
        self.s.flush()
        return _version(row)
