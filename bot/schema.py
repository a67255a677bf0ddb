"""Turning pydantic validation errors into ConfigErrors that name the file, the key and the reason."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.errors import ConfigError


def key_path(loc: tuple[Any, ...]) -> str:
    """``("calendar", "windows", "mon", 0)`` -> ``calendar.windows.mon[0]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and part.startswith(("function-", "union[")):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out


def _reason(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "missing (required)"
    msg = str(err.get("msg", "invalid"))
    msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    value = err.get("input")
    if kind not in {"value_error", "assertion_error"} and not isinstance(value, dict | list):
        msg += f" (got {value!r})"
    return msg


def config_error(source: str, exc: ValidationError, error_cls: type[ConfigError] = ConfigError,
                 prefix: str = "") -> ConfigError:
    """The first problem of ``exc`` as ``error_cls`` (others are counted in the reason)."""
    errors = exc.errors()
    first = errors[0]
    key = key_path(tuple(first.get("loc", ())))
    key = f"{prefix}.{key}" if prefix and key else (prefix or key)
    reason = _reason(first)
    if len(errors) > 1:
        reason += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return error_cls(source, key, reason)


def read_toml(path: Path, error_cls: type[ConfigError] = ConfigError) -> dict[str, Any]:
    """Parse a TOML file; unreadable or malformed files raise ``error_cls`` naming the file."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise error_cls(str(path), "", f"cannot read: {e.strerror or e}") from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise error_cls(str(path), "", "not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise error_cls(str(path), "", f"not valid TOML: {e}") from None
