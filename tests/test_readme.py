"""The README's configuration table stays in step with the settings the code accepts."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from pydantic import BaseModel

from config.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def _settings_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        key = prefix + (field.alias or name)
        ann = field.annotation
        inner = typing.get_args(ann)[0] if typing.get_origin(ann) is tuple else None
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            keys |= _settings_keys(ann, key + ".")
        elif isinstance(inner, type) and issubclass(inner, BaseModel):
            keys |= _settings_keys(inner, key + "[].")
        else:
            keys.add(key)
    return keys


def _readme_keys() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_\[\].]+)` \|", section, flags=re.M))


def test_every_setting_is_documented_and_nothing_else() -> None:
    code, readme = _settings_keys(Settings), _readme_keys()
    assert readme, "the README has a configuration table"
    assert code - readme == set(), "settings missing from the README table"
    assert readme - code == set(), "README documents settings the code does not accept"


def test_the_example_config_loads() -> None:
    from config.settings import load_settings

    s = load_settings(ROOT / "deploy" / "supportbot.toml.example", env={})
    assert [c.name for c in s.clients] == ["acme"]
    assert s.clients[0].phones == ("+3216123456",)


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
