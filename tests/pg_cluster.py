"""Run a command against a private PostgreSQL cluster, made for it and removed after it.

    python3 tests/pg_cluster.py CMD [ARG...]

The cluster lives in a temporary folder, listens on a free port of 127.0.0.1 only (and a
socket in that folder), trusts its local users, has a database ``test``, and is built with the
installed server binaries (Debian's ``/usr/lib/postgresql/*/bin``, else ``initdb`` on PATH).
``initdb`` refuses to run as root, so as root the cluster runs as the ``postgres`` user
(``runuser``). CMD gets its URL in ``SUPPORTBOT_TEST_DATABASE``; the cluster is stopped and
its folder removed when CMD ends, fails, or this script is interrupted (Ctrl-C, SIGTERM).

With ``PG_URL`` set (and not empty) no cluster is made: CMD runs against that server.
Standard library only, so it runs before the virtual environment has anything in it.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

OWNER = "postgres"  # the unprivileged user a root caller runs the cluster as


class ClusterError(Exception):
    """The private cluster could not be made or started; the message says why."""


def bin_dir() -> Path:
    """The newest installed server's binaries (``PG_BIN`` overrides)."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])

    def version(p: str) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", p))

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise ClusterError("no PostgreSQL server binaries (initdb): install Debian's 'postgresql' "
                       "package, or set PG_URL to a server of your own")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A throw-away cluster: ``start()`` makes and starts it, ``stop()`` removes every trace."""

    def __init__(self) -> None:
        self.bin = bin_dir()
        self._as: list[str] = []
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(OWNER)
            except KeyError:
                raise ClusterError(f"initdb refuses root and there is no {OWNER!r} user to run "
                                   "the cluster as: install Debian's 'postgresql' package, or "
                                   "set PG_URL") from None
            self._as = ["runuser", "-u", OWNER, "--"]
        self.root = Path(tempfile.mkdtemp(prefix="supportbot-pg-"))
        if self._as:
            shutil.chown(self.root, OWNER)
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = 0

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/test"

    def _run(self, tool: str, *args: str) -> None:
        argv = [*self._as, str(self.bin / tool), *args]
        p = subprocess.run(argv, capture_output=True, text=True, cwd=self.root, check=False)
        if p.returncode != 0:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise ClusterError(f"{tool} failed ({p.returncode}): {p.stderr.strip()}\n{tail}")

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--locale=C", "--no-sync", "--no-instructions")
        for attempt in range(3):  # another process may take the free port before we bind it
            self.port = free_port()
            opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
                    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                    "-c max_connections=200")
            try:
                self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                          "-o", opts, "start")
                break
            except ClusterError:
                if attempt == 2:
                    raise
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "test")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            argv = [*self._as, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                    "-w", "stop"]
            subprocess.run(argv, capture_output=True, check=False, cwd=self.root)
        shutil.rmtree(self.root, ignore_errors=True)


def run(cmd: list[str], env: dict[str, str]) -> int:
    """CMD's exit code (128 + N for a signal N, as a shell says it); a SIGTERM to us is passed
    on to it and waited for."""
    child = subprocess.Popen(cmd, env=env)

    def forward(signum: int, _frame: FrameType | None) -> None:
        child.send_signal(signum)

    old = signal.signal(signal.SIGTERM, forward)
    try:
        while True:
            try:
                code = child.wait()
                return 128 - code if code < 0 else code
            except KeyboardInterrupt:  # Ctrl-C reached the child too: let it finish its stop
                continue
    finally:
        signal.signal(signal.SIGTERM, old)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 64
    env = dict(os.environ)
    if env.get("PG_URL"):
        env["SUPPORTBOT_TEST_DATABASE"] = env["PG_URL"]
        return run(argv, env)
    began = time.monotonic()
    try:
        cluster = Cluster()
    except ClusterError as e:
        print(f"pg_cluster: {e}", file=sys.stderr)
        return 1
    # a SIGTERM while the cluster is made still removes it (raised as SystemExit below)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        try:
            cluster.start()
        except ClusterError as e:
            print(f"pg_cluster: {e}", file=sys.stderr)
            return 1
        print(f"pg_cluster: private PostgreSQL at {cluster.url} (ready in "
              f"{time.monotonic() - began:.1f} s, {cluster.bin})", file=sys.stderr)
        env["SUPPORTBOT_TEST_DATABASE"] = cluster.url
        return run(argv, env)
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
