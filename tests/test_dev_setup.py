"""What `make run` and `make test` set up: the runtime dependencies bring no test or bench tool,
the private PostgreSQL cluster of ``tests/pg_cluster.py`` works and leaves nothing behind, and
``tests/peers.sh`` names what is missing in one line when it may not install it."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
PG_CLUSTER = ROOT / "tests" / "pg_cluster.py"
TOOLS = {"pytest", "pytest-asyncio", "ruff", "hypothesis", "pymap", "pandas", "businesstimedelta"}

# the child of pg_cluster.py: connects to the URL it was given and says where the server is
PROBE = """
import json, os, psycopg
url = os.environ["SUPPORTBOT_TEST_DATABASE"]
with psycopg.connect(url) as c:
    port = c.execute("SHOW port").fetchone()[0]
    data = c.execute("SHOW data_directory").fetchone()[0]
    db, user = c.execute("SELECT current_database(), current_user").fetchone()
print(json.dumps({"url": url, "port": int(port), "data": data, "db": db, "user": user}))
"""


def _closure(name: str, extras: frozenset[str] = frozenset()) -> set[str]:
    """Every distribution that installing ``name`` (with ``extras``) pulls in, by the metadata
    of what is installed here."""
    names: set[str] = set()
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [(name, extras)]
    while todo:
        dist, want = todo.pop()
        key = re.sub(r"[-_.]+", "-", dist).lower()
        if (key, want) in seen:
            continue
        seen.add((key, want))
        names.add(key)
        try:
            requires = metadata.requires(dist) or []
        except metadata.PackageNotFoundError:
            continue
        envs = [{"extra": e} for e in want] or [{"extra": ""}]
        for line in requires:
            req = Requirement(line)
            if req.marker is None or any(req.marker.evaluate(env) for env in envs):
                todo.append((req.name, frozenset(req.extras)))
    return names


def test_the_runtime_dependencies_bring_no_test_or_bench_tool() -> None:
    runtime = _closure("supportbot")
    assert "sqlmodel" in runtime and "slack-bolt" in runtime  # the walk reaches the real ones
    assert runtime & TOOLS == set(), "make run would install these"
    assert {"pytest", "pytest-asyncio", "ruff"} <= _closure("supportbot", frozenset({"test"}))
    assert "pandas" in _closure("supportbot", frozenset({"bench"}))


def _refused(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_the_private_cluster_serves_the_command_and_is_gone_after_it() -> None:
    env = {k: v for k, v in os.environ.items() if k != "PG_URL"}
    p = subprocess.run([sys.executable, str(PG_CLUSTER), sys.executable, "-c", PROBE], env=env,
                       capture_output=True, text=True, timeout=120, check=False)
    assert p.returncode == 0, p.stderr
    seen = json.loads(p.stdout)
    assert seen["url"] == f"postgresql://postgres@127.0.0.1:{seen['port']}/test"
    assert (seen["db"], seen["user"]) == ("test", "postgres")
    assert seen["port"] != 5432  # a port of its own, not the machine's server
    assert "supportbot-pg-" in seen["data"]
    assert not Path(seen["data"]).exists(), "the cluster's folder is removed"
    assert _refused(seen["port"]), "the server is stopped"


def test_the_commands_exit_code_comes_back_and_the_cluster_goes_on_failure_too() -> None:
    env = {k: v for k, v in os.environ.items() if k != "PG_URL"}
    child = ("import os, sys; print(os.environ['SUPPORTBOT_TEST_DATABASE'], flush=True); "
             "sys.exit(3)")
    p = subprocess.run([sys.executable, str(PG_CLUSTER), sys.executable, "-c", child], env=env,
                       capture_output=True, text=True, timeout=120, check=False)
    assert p.returncode == 3, p.stderr
    port = int(p.stdout.strip().rsplit(":", 1)[1].split("/")[0])
    assert _refused(port)


def test_a_sigterm_stops_the_command_and_removes_the_cluster(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PG_URL"}
    said = tmp_path / "seen.json"
    child = PROBE.replace("print(", f"open({str(said)!r}, 'w').write(") + "import time\n" \
        "time.sleep(60)\n"
    proc = subprocess.Popen([sys.executable, str(PG_CLUSTER), sys.executable, "-c", child],
                            env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (said.exists() and said.read_text()) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.1)
        seen = json.loads(said.read_text())
        assert not _refused(seen["port"]), "the server is up while the command runs"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert _refused(seen["port"]), "the server is stopped"
    assert not Path(seen["data"]).exists(), "the cluster's folder is removed"


def test_pg_url_points_the_command_at_that_server_and_makes_no_cluster() -> None:
    env = {**os.environ, "PG_URL": "postgresql://someone@db.example:6543/other"}
    child = "import os; print(os.environ['SUPPORTBOT_TEST_DATABASE'])"
    p = subprocess.run([sys.executable, str(PG_CLUSTER), sys.executable, "-c", child], env=env,
                       capture_output=True, text=True, timeout=30, check=False)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "postgresql://someone@db.example:6543/other"
    assert "private PostgreSQL" not in p.stderr


def test_without_root_peers_names_what_to_install_in_one_line() -> None:
    """A Python without ensurepip (Debian's python3 before python3-venv): as a user who may not
    install, the script fails with the apt-get line, and installs nothing."""
    argv = ["bash", "-s"]
    if os.geteuid() == 0:  # root would install it: ask as the unprivileged postgres user
        argv = ["runuser", "-u", "postgres", "--", *argv]
    script = (ROOT / "tests" / "peers.sh").read_text(encoding="utf-8")
    env = {**os.environ, "PY": "/nonexistent/python3"}
    p = subprocess.run(argv, input=script, env=env, capture_output=True, text=True, timeout=60,
                       check=False)
    assert p.returncode == 1
    assert p.stderr.strip().splitlines() == [
        "make test needs these Debian packages: sudo apt-get install python3-venv"]
