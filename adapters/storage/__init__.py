"""Storage on SQLModel/SQLAlchemy: SQLite by default, PostgreSQL when several instances run."""

from adapters.storage.database import SCHEMA_VERSION, Database
from adapters.storage.uow import SqlUnitOfWork, UnitOfWorks

__all__ = ["SCHEMA_VERSION", "Database", "SqlUnitOfWork", "UnitOfWorks"]
