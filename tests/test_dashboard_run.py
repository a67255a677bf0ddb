"""The dashboard inside ``supportbot run``: mounted on the web app when ``dashboard.enabled``,
on ``/healthz`` and ``/metrics``, signed in to with a password set by ``supportbot staff
passwd``; and the bot stops promptly while a browser follows the queue's event stream."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx

from adapters.storage import Database
from tests.dashboard_site import csrf_of
from tests.procs import SUPPORTBOT, BotProcess, clean_env, free_port, storage_toml

SECRET = "run-test-session-secret-0123456789abcdef"


def test_the_dashboard_in_a_running_bot(tmp_path: Path, database: Database) -> None:
    web = free_port()
    config = tmp_path / "supportbot.toml"
    config.write_text(storage_toml(database) + f"""
[smtp]
port = {free_port()}
[web]
enabled = true
port = {web}
[dashboard]
enabled = true
session_secret = "{SECRET}"
secure_cookies = false
[[staff]]
name = "alice"
""", encoding="utf-8")
    done = subprocess.run([str(SUPPORTBOT), "--config", str(config), "staff", "passwd",
                           "alice", "--stdin"], input="alice's long password\n", text=True,
                          env=clean_env(), capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    bot = BotProcess(config, "run")
    bot.start()
    try:
        base = f"http://127.0.0.1:{web}"
        with httpx.Client(timeout=10) as http:
            health = http.get(f"{base}/healthz").json()
            assert health["checks"]["dashboard"]["ok"] is True
            assert "1 staff account" in health["checks"]["dashboard"]["detail"]
            form = http.get(f"{base}/staff/login")
            r = http.post(f"{base}/staff/login", data={
                "csrf": csrf_of(form.text), "name": "alice",
                "password": "alice's long password", "next": "/staff/"})
            assert r.status_code == 303
            assert http.get(f"{base}/staff/").status_code == 200
            opened = threading.Event()

            def follow() -> None:  # a browser on the queue: an event stream stays open
                try:
                    with http.stream("GET", f"{base}/staff/events",
                                     headers={"Accept": "text/event-stream"},
                                     timeout=60) as s:
                        opened.set()
                        for _ in s.iter_lines():
                            pass
                except httpx.HTTPError:
                    pass
            t = threading.Thread(target=follow, daemon=True)
            t.start()
            assert opened.wait(10)
            metrics = httpx.get(f"{base}/metrics").text
            assert "supportbot_dashboard_streams 1.0" in metrics
            assert "supportbot_open_tickets 0.0" in metrics
            started = time.monotonic()
            assert bot.stop(signal.SIGTERM) == 0
            assert time.monotonic() - started < 8  # not held by the open stream
            t.join(10)
            assert not t.is_alive()
    finally:
        bot.close()
