"""``supportbot staff passwd|list`` as a user runs it: a real process, the password on
standard input; the stored hash is argon2 and signs in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from argon2 import PasswordHasher

from adapters.storage import Database
from adapters.storage.staff_accounts import StaffAccounts

SUPPORTBOT = Path(sys.executable).parent / "supportbot"


def run(config: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}
    return subprocess.run([str(SUPPORTBOT), "--config", str(config), *args], input=stdin,
                          env=env, capture_output=True, text=True, timeout=60, check=False)


def settings_file(tmp_path: Path, database: Database) -> Path:
    url = database.url.render_as_string(hide_password=False)
    schema = f"schema = {json.dumps(database.schema)}\n" if database.schema else ""
    path = tmp_path / "supportbot.toml"
    path.write_text(f"[storage]\nurl = {json.dumps(url)}\n{schema}\n[[staff]]\nname = "
                    "\"alice\"\nemail = \"alice@provider.example\"\n", encoding="utf-8")
    return path


def test_passwd_stores_an_argon2_hash_of_the_password(tmp_path: Path,
                                                     database: Database) -> None:
    config = settings_file(tmp_path, database)
    r = run(config, "staff", "passwd", "alice", "--stdin", "--role", "manager",
            stdin="a long enough secret\n")
    assert (r.returncode, r.stdout.strip()) == (0, "password set for alice (manager)"), r
    account = StaffAccounts(database).get("alice")
    assert account is not None and account.manager
    assert account.password_hash.startswith("$argon2id$")
    assert "a long enough secret" not in account.password_hash
    assert PasswordHasher().verify(account.password_hash, "a long enough secret")
    # a second passwd keeps the role and changes the hash
    assert run(config, "staff", "passwd", "alice", "--stdin",
               stdin="another long secret\n").returncode == 0
    again = StaffAccounts(database).get("alice")
    assert again is not None and again.manager and again.password_hash != account.password_hash
    listed = run(config, "staff", "list")
    assert listed.returncode == 0 and "alice" in listed.stdout and "manager" in listed.stdout


def test_passwd_refuses_strangers_and_short_passwords(tmp_path: Path,
                                                     database: Database) -> None:
    config = settings_file(tmp_path, database)
    r = run(config, "staff", "passwd", "mallory", "--stdin", stdin="a long enough secret\n")
    assert r.returncode == 2 and "'mallory' is not a staff member" in r.stderr
    assert "Traceback" not in r.stderr
    r = run(config, "staff", "passwd", "alice", "--stdin", stdin="short\n")
    assert r.returncode == 2 and "at least 10 characters" in r.stderr
    assert StaffAccounts(database).list() == []
