"""``SUPPORTBOT_A__B=v`` variables laid over the settings file, and which variable set a key."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from typing import Any

from bot.errors import ConfigError

ENV_PREFIX = "SUPPORTBOT_"
NOT_SETTINGS = frozenset({"SUPPORTBOT_CONFIG", "SUPPORTBOT_ACTOR", "SUPPORTBOT_TEST_DATABASE"})
"""Variables with the prefix that are not settings (see the README)."""


def env_value(name: str, raw: str) -> Any:
    """Arrays and tables in variables are written as TOML (``["a", "b"]``); the rest is text that
    the field's type converts (``true``, ``8``)."""
    if raw.strip().startswith(("[", "{")):
        try:
            return tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(name, "", f"not a TOML array or table: {e}") from None
    return raw


def apply_env(data: dict[str, Any], env: Mapping[str, str]) -> dict[str, str]:
    """Overlay ``SUPPORTBOT_A__B=v`` onto ``data``; returns dotted key -> variable name."""
    origin: dict[str, str] = {}
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or name in NOT_SETTINGS:
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX):].split("__")]
        if not all(parts):
            raise ConfigError(name, "", "empty level in the variable name (use A__B)")
        node = data
        for p in parts[:-1]:
            nxt = node.setdefault(p, {})
            if not isinstance(nxt, dict):
                nxt = node[p] = {}  # replaced, so validation reports it at this variable
            node = nxt
        node[parts[-1]] = env_value(name, env[name])
        origin[".".join(parts)] = name
    return origin


def variable_for(key: str, origin: Mapping[str, str]) -> str | None:
    """The variable that set ``key`` or a table or array above it (``clients`` for
    ``clients[0].phones[0]``), or that set something below it."""
    for k, var in origin.items():
        if key == k or key.startswith((k + ".", k + "[")) or k.startswith(key + "."):
            return var
    return None
