"""Turn pydantic validation errors into ConfigErrors naming the file, key and reason."""

from __future__ import annotations

import difflib
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from bot.errors import ConfigError


def key_path(loc: tuple[Any, ...]) -> str:
    """``("calendar", "windows", "mon", 0)`` -> ``calendar.windows.mon[0]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and (part.startswith(("function-", "union[")) or
                                        part == "[key]"):
            continue  # pydantic's own markers (validator wrappers, "the dict key itself")
        else:
            out += ("." if out else "") + str(part)
    return out


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model that the location ``loc`` points into (through tables and arrays of tables)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = next((f for n, f in current.model_fields.items()
                      if part in (n, f.alias)), None)
        if field is None:
            return None
        current = field.annotation
        while typing.get_origin(current) in (tuple, list, typing.Union, types.UnionType):
            args = [a for a in typing.get_args(current) if a not in (Ellipsis, type(None))]
            current = args[0] if args else None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _known_keys(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> str:
    inner = _model_at(model, loc[:-1]) if model is not None else None
    if inner is None:
        return ""
    names = [f.alias or n for n, f in inner.model_fields.items() if not f.exclude]
    close = difflib.get_close_matches(str(loc[-1]), names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f" (known: {', '.join(names)}){hint}"


def _reason(err: dict[str, Any], model: type[BaseModel] | None = None) -> str:
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "unknown key" + _known_keys(model, tuple(err.get("loc", ())))
    if kind == "missing":
        return "missing (required)"
    msg = str(err.get("msg", "invalid"))
    msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    value = err.get("input")
    if kind not in {"value_error", "assertion_error"} and not isinstance(value, dict | list):
        msg += f" (got {value!r})"
    return msg


def config_error(source: str, exc: ValidationError, error_cls: type[ConfigError] = ConfigError,
                 model: type[BaseModel] | None = None) -> ConfigError:
    """The first problem of ``exc`` as ``error_cls`` (others are counted in the reason).

    With ``model``, an unknown key's reason lists the keys that are known at that place.
    """
    errors = exc.errors()
    first = errors[0]
    key = key_path(tuple(first.get("loc", ())))
    reason = _reason(first, model)
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
