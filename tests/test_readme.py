"""The README's configuration table stays in step with the settings the code accepts."""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any

import annotated_types
from pydantic import BaseModel

from config.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def _readme_keys() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_\[\].]+)` \|", section, flags=re.M))


def test_every_setting_is_documented_and_nothing_else() -> None:
    code, readme = set(_settings_fields(Settings)), _readme_keys()
    assert readme, "the README has a configuration table"
    assert code - readme == set(), "settings missing from the README table"
    assert readme - code == set(), "README documents settings the code does not accept"


def test_the_example_config_loads() -> None:
    from config.settings import load_settings

    s = load_settings(ROOT / "deploy" / "supportbot.toml.example", env={})
    assert [c.name for c in s.clients] == ["acme"]
    assert s.clients[0].phones == ("+3216123456",)


def _settings_fields(model: type[BaseModel], prefix: str = "") -> dict[str, Any]:
    """Every documented key (``a.b``, ``list[].c``) with its pydantic field."""
    fields: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        key = prefix + (field.alias or name)
        ann = field.annotation
        inner = typing.get_args(ann)[0] if typing.get_origin(ann) is tuple else None
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            fields |= _settings_fields(ann, key + ".")
        elif isinstance(inner, type) and issubclass(inner, BaseModel):
            fields |= _settings_fields(inner, key + "[].")
        else:
            fields[key] = field
    return fields


def _limits(field: Any) -> set[str]:
    """The limits a field enforces, as the README writes them: `>= 10`, `< 5`, `non-empty`."""
    out: set[str] = set()
    for m in field.metadata:
        for attr, op in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            if isinstance(m, getattr(annotated_types, attr.capitalize())):
                out.add(f"{op} {getattr(m, attr)}")
        if isinstance(m, annotated_types.MinLen) and m.min_length:
            out.add("non-empty" if m.min_length == 1 else f"at least {m.min_length}")
    return out


LIMIT = re.compile(r"`(>=|<=|>|<) (-?[0-9.]+)`|`(non-empty|at least [0-9]+)`")


def _readme_limits() -> dict[str, set[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z_\[\].]+)` \|(.*)$", section, flags=re.M)
    return {key: {f"{m[0]} {m[1]}" if m[0] else m[2] for m in LIMIT.findall(rest)}
            for key, rest in rows}


def test_every_limit_the_settings_enforce_is_in_its_readme_row() -> None:
    """E.g. `oncall.interval_seconds` says `>= 10` and `<= 3600`, as the settings refuse
    anything else; a row names no limit the code does not enforce."""
    readme = _readme_limits()
    wrong = {key: {"code": sorted(_limits(f)), "readme": sorted(readme.get(key, set()))}
             for key, f in _settings_fields(Settings).items()
             if _limits(f) != readme.get(key, set())}
    assert wrong == {}, "README limits out of step with the settings"
    assert readme["oncall.interval_seconds"] == {">= 10", "<= 3600"}


def test_try_it_names_every_command_once_and_only_real_ones() -> None:
    import click

    from adapters.cli import cli

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Try it", 1)[1].split("\n## ", 1)[0]
    prose = section.rsplit("```", 1)[1]  # the paragraph after the example
    assert prose.count("Other commands:") == 1, "the list of other commands is given once"
    named = [name for group in re.findall(r"`supportbot ([a-z|]+)", " ".join(prose.split()))
             for name in group.split("|")]
    assert len(named) == len(set(named)), f"a command is named twice: {sorted(named)}"
    ctx = click.Context(cli)
    real = set(cli.list_commands(ctx))
    assert set(named) <= real, f"not commands: {set(named) - real}"
    assert real - set(named) - {"tickets", "run"} == set(), "commands the README leaves out"
