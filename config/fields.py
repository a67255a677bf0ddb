"""Value types the settings validate with: phone numbers, mail domains and addresses, priorities,
database URLs, and the base of every settings table."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from bot.phone.numbers import e164
from bot.priority import Priority

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


class Section(BaseModel):
    """A table of the settings file: unknown keys are errors, values do not change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


_URL = re.compile(r"^(?P<backend>[A-Za-z][A-Za-z0-9]*)(\+[A-Za-z0-9_]+)?://")
"""A database URL's start, ``backend[+driver]://``, as SQLAlchemy's ``make_url`` reads it
(not imported here: loading settings must stay cheap for the quick commands)."""


def _database_url(v: str) -> str:
    m = _URL.match(v)
    if m is None:
        raise ValueError(f"{v!r} is not a database URL (expected sqlite:///PATH or "
                         "postgresql://USER@HOST:PORT/DB)")
    backend = m["backend"].lower()
    if backend == "postgres":  # SQLAlchemy's make_url refuses it: name the right one
        raise ValueError(f"{v!r}: write postgresql://, not postgres://")
    if backend not in {"sqlite", "postgresql"}:
        raise ValueError(f"{backend!r} databases are not supported (use sqlite:/// or "
                         "postgresql://)")
    return v


DatabaseUrl = Annotated[str, AfterValidator(_database_url)]
