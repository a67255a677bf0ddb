"""Real ``supportbot run`` processes for tests: started from a settings file, waited for through
their log (one log file per start, so a restart never matches an old line), stopped by a signal
or killed outright. Nothing is mocked: the bot is the installed console script."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import pytest

from adapters.storage import Database

SUPPORTBOT = Path(sys.executable).parent / "supportbot"
WAIT = 30.0  # seconds: an upper bound for a start or a log line, never a measurement


def clean_env() -> dict[str, str]:
    """Our environment without any ``SUPPORTBOT_*`` (the settings come from the file alone)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def storage_toml(database: Database) -> str:
    """The ``[storage]`` section that points a bot at ``database`` (file or schema)."""
    url = database.url.render_as_string(hide_password=False)
    text = f"[storage]\nurl = {json.dumps(url)}\n"
    if database.schema:
        text += f"schema = {json.dumps(database.schema)}\n"
    return text


def run_main(capsys: pytest.CaptureFixture[str], config: Path,
             *args: str) -> tuple[int, str, str]:
    """``supportbot --config CONFIG ARGS...`` in this process: (exit code, stdout, stderr)."""
    from adapters.cli import main

    capsys.readouterr()
    try:
        code = main(["--config", str(config), *args])
    except SystemExit as e:  # ingest exits with sysexits codes for the MTA
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``supportbot --config CONFIG ARGS...``; fails the test on a non-zero exit."""
    p = subprocess.run([str(SUPPORTBOT), "--config", str(config), *args], cwd=config.parent,
                       env=clean_env(), stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=120, check=False)
    assert p.returncode == 0, f"supportbot {' '.join(args)} failed ({p.returncode}):\n{p.stderr}"
    return p


def cli_json(config: Path, *args: str) -> Any:
    return json.loads(cli(config, *args, "--json").stdout)


class BotProcess:
    """``supportbot --config CONFIG run`` as a subprocess that can be started again after it
    stopped or was killed. Each start logs (stderr) to a file of its own."""

    def __init__(self, config: Path, name: str = "bot") -> None:
        self.config = config
        self.name = name
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0
        self.logs: list[Path] = []
        self._log: IO[bytes] | None = None

    def start(self, *, wait: bool = True) -> None:
        assert self.proc is None or self.proc.poll() is not None, f"{self.name} still runs"
        self._close_log()
        self.starts += 1
        path = self.config.parent / f"{self.name}.{self.starts}.log"
        self.logs.append(path)
        self._log = path.open("wb")
        self.proc = subprocess.Popen(
            [str(SUPPORTBOT), "--config", str(self.config), "run"], cwd=self.config.parent,
            env=clean_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=self._log)
        if wait:
            self.wait_for(r"supportbot running")

    def log(self) -> str:
        """The log of the current (latest) start."""
        return self.logs[-1].read_text(encoding="utf-8", errors="replace") if self.logs else ""

    def all_logs(self) -> str:
        return "".join(f"--- {p.name}\n" + p.read_text(encoding="utf-8", errors="replace")
                       for p in self.logs)

    def wait_for(self, pattern: str, count: int = 1,
                 timeout: float = WAIT) -> list[re.Match[str]]:
        """Poll the current log until ``pattern`` matched ``count`` lines; fail early on a
        traceback or if the process ends."""
        assert self.proc is not None
        rx = re.compile(pattern, re.MULTILINE)
        deadline = time.monotonic() + timeout
        while True:
            text = self.log()
            found = list(rx.finditer(text))
            if len(found) >= count:
                return found
            assert "Traceback" not in text, f"{self.name} logged a traceback:\n{text}"
            assert self.proc.poll() is None, \
                f"{self.name} ended ({self.proc.returncode}) before {pattern!r}:\n{text}"
            if time.monotonic() > deadline:
                pytest.fail(f"no {pattern!r} (x{count}) in {self.name}'s log within "
                            f"{timeout}s:\n{text}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed or closed by the bot."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=WAIT)
        self.kills += 1

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{self.name} did not stop within {WAIT}s of {sig.name}:\n{self.log()}")

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
