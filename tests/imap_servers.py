"""Real IMAP servers for tests, each on free loopback ports with state of its own.

- pymap (pip): its in-memory ``dict`` backend as a subprocess, with a certificate so that it
  offers STARTTLS; the user is pymap's demo user.
- Dovecot (Debian ``dovecot-imapd``): started with a config of its own (own base/state dirs,
  passwd-file users, a maildir), a plain listener and an implicit-TLS (993-style) listener.

``running_server(kind, ...)`` raises ``ServerUnavailable`` when a server cannot be started; the
tests turn that into ``missing_peer`` (a failure under CI, a skip elsewhere). A server runs for
a whole test module; ``server.account()`` gives each test a login with an empty INBOX.
"""

from __future__ import annotations

import getpass
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imapclient import IMAPClient

from adapters.mail.imap import ImapConfig

HOST = "127.0.0.1"
START_TIMEOUT = 15.0


class ServerUnavailable(Exception):
    """The server could not be started here (not installed, refused its config, ...)."""


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts this certificate only (hostname checked: 127.0.0.1)."""
        return ssl.create_default_context(cafile=str(self.cert))


def make_certificate(directory: Path) -> Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost, made by ``openssl req``."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                        "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                        "-keyout", str(key), "-out", str(cert)],
                       check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as e:
        raise ServerUnavailable(f"cannot make a test certificate with openssl: {e}") from None
    key.chmod(0o644)  # Dovecot's master reads it as root, pymap as us
    return Certificate(cert, key)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerUnavailable(f"{what} exited with {proc.returncode}: {_tail(log)}")
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.02)
    raise ServerUnavailable(f"{what} did not listen on port {port} within {START_TIMEOUT}s: "
                            f"{_tail(log)}")


def _tail(log: Path, lines: int = 5) -> str:
    try:
        return " | ".join(log.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


class ImapServer:
    """A running server process on its own ports; ``account()`` gives each test a fresh mailbox."""

    name = ""
    implicit_tls = False  # TLS on ``tls_port`` from the first byte, else STARTTLS there

    def __init__(self, directory: Path, certificate: Certificate) -> None:
        self.directory = directory
        self.certificate = certificate
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.tls_port = self.port
        self.log = directory / f"{self.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        if self.proc is not None:
            _terminate(self.proc)
            self.proc = None

    def restart(self) -> None:
        """Stop the server and start it again on the same ports."""
        self.stop()
        self.start()

    def account(self) -> ImapAccount:
        raise NotImplementedError

    def reset_uidvalidity(self, account: ImapAccount, folder: str) -> None:
        raise NotImplementedError

    def drop_connections(self, account: ImapAccount) -> None:
        """Close every open session of ``account`` from the server's side."""
        raise NotImplementedError

    def _spawn(self, argv: list[str], ports: list[int]) -> None:
        out_path = self.directory / f"{self.name}.out"
        with out_path.open("ab") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                    cwd=self.directory)
        try:
            for port in ports:
                _wait_for_port(port, proc, out_path, self.name)
        except ServerUnavailable as e:
            _terminate(proc)
            raise ServerUnavailable(f"{e} | log: {_tail(self.log)}") from None
        self.proc = proc


@dataclass
class ImapAccount:
    """One login on a server, with an empty INBOX when handed out."""

    server: ImapServer
    username: str
    password: str
    home: Path | None = None

    @property
    def name(self) -> str:
        return self.server.name

    @property
    def port(self) -> int:
        return self.server.port

    # -- configs for the poller --------------------------------------------------------------

    def config(self, **kw: Any) -> ImapConfig:
        """A plain-text connection (loopback only)."""
        base: dict[str, Any] = {"host": HOST, "port": self.server.port,
                                "username": self.username, "password": self.password,
                                "tls": False, "timeout": 10}
        return ImapConfig(**{**base, **kw})

    def tls_config(self, **kw: Any) -> ImapConfig:
        """TLS as this server offers it, trusting its self-signed certificate."""
        mode: dict[str, Any] = ({"tls": True} if self.server.implicit_tls
                                else {"tls": False, "starttls": True})
        return self.config(**{"port": self.server.tls_port,
                              "ssl_context": self.server.certificate.client_context(),
                              **mode, **kw})

    # -- the test's own client ---------------------------------------------------------------

    @contextmanager
    def client(self, folder: str | None = "INBOX") -> Iterator[IMAPClient]:
        c = IMAPClient(HOST, port=self.server.port, ssl=False, timeout=10)
        try:
            c.login(self.username, self.password)
            if folder is not None:
                if not c.folder_exists(folder):
                    c.create_folder(folder)
                c.select_folder(folder)
            yield c
        finally:
            try:
                c.logout()
            except Exception:
                c.shutdown()

    def append(self, raw: bytes, folder: str = "INBOX") -> int:
        """Append ``raw``; returns its UID (from APPENDUID)."""
        with self.client(folder) as c:
            answer = c.append(folder, raw)
        m = re.search(rb"APPENDUID (\d+) (\d+)", answer)
        assert m, f"no APPENDUID in {answer!r}"
        return int(m.group(2))

    def messages(self, folder: str = "INBOX") -> dict[int, tuple[bytes, tuple[bytes, ...]]]:
        """UID -> (raw bytes, flags), read without setting \\Seen."""
        with self.client(None) as c:
            if not c.folder_exists(folder):
                return {}
            c.select_folder(folder, readonly=True)
            uids = c.search("ALL")
            if not uids:
                return {}
            data = c.fetch(uids, ["BODY.PEEK[]", "FLAGS"])
        return {u: (d[b"BODY[]"], tuple(d[b"FLAGS"])) for u, d in sorted(data.items())}

    def uidvalidity(self, folder: str = "INBOX") -> int:
        with self.client(None) as c:
            return int(c.folder_status(folder, ["UIDVALIDITY"])[b"UIDVALIDITY"])

    def reset_uidvalidity(self, folder: str = "INBOX") -> None:
        """Make the server report a new UIDVALIDITY for ``folder``, its messages kept."""
        before = self.uidvalidity(folder)
        self.server.reset_uidvalidity(self, folder)
        assert self.uidvalidity(folder) != before


# -- pymap -----------------------------------------------------------------------------------

class PymapServer(ImapServer):
    """pymap's in-memory ``dict`` backend; it has one (demo) user, so every account starts a
    fresh process. Given a certificate, it offers STARTTLS on its one port."""

    name = "pymap"

    def start(self) -> None:
        beside = Path(sys.executable).with_name("pymap")
        exe = str(beside) if beside.exists() else shutil.which("pymap")
        if not exe:
            raise ServerUnavailable("pymap is not installed (pip install pymap)")
        self._spawn([exe, "--host", HOST, "--port", str(self.port),
                     "--cert", str(self.certificate.cert), "--key", str(self.certificate.key),
                     "dict"], [self.port])

    def account(self) -> ImapAccount:
        self.restart()
        return ImapAccount(self, "demouser", "demopass")

    def drop_connections(self, account: ImapAccount) -> None:
        """pymap keeps its mail in memory: a restart drops every session and the mail with
        it (INBOX comes back empty, under a new UIDVALIDITY)."""
        self.restart()

    def reset_uidvalidity(self, account: ImapAccount, folder: str) -> None:
        """pymap gives a new mailbox a new random UIDVALIDITY: rename the folder away (RENAME
        INBOX moves its mail and leaves an empty INBOX), recreate it, copy the mail back."""
        aside = f"{folder}-aside"
        with account.client(None) as c:
            c.rename_folder(folder, aside)
            if not c.folder_exists(folder):
                c.create_folder(folder)
            c.select_folder(aside)
            uids = c.search("ALL")
            if uids:
                c.copy(sorted(uids), folder)
            c.close_folder()
            c.delete_folder(aside)


# -- Dovecot ---------------------------------------------------------------------------------

DOVECOT_CONF = """\
# a private Dovecot for tests: nothing here touches the system's Dovecot
protocols = imap
listen = {host}
base_dir = {base}
state_dir = {state}
log_path = {log}
info_log_path = {log}
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
mail_location = maildir:~/Maildir
first_valid_uid = {uid}
first_valid_gid = {gid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {passwd}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {passwd}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = {tls_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
  # no growing delay for the wrong-password tests' repeated failures (auth penalty off)
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service auth {{
  user = {auth_user}
}}
service auth-worker {{
  user = {auth_user}
}}
"""


class DovecotServer(ImapServer):
    """Dovecot with a config of its own: a plain listener and an implicit-TLS listener; every
    account is a new user (passwd-file, re-read by Dovecot when it changes) with a maildir.

    As root (CI) the login and internal processes run as the users the package created, the
    auth processes as root (to read the passwd file inside pytest's private tmp dir) and mail
    as ``nobody`` (Dovecot refuses UID 0 for mail), whose homes live in a directory of their
    own under /tmp. Otherwise everything runs as the current user inside ``directory``.
    """

    name = "dovecot"
    implicit_tls = True

    def __init__(self, directory: Path, certificate: Certificate) -> None:
        super().__init__(directory, certificate)
        self.tls_port = free_port()
        self.exe = shutil.which("dovecot") or next(
            (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.path.exists(p)),
            None)
        if not self.exe:
            raise ServerUnavailable("dovecot is not installed (apt-get install dovecot-imapd)")
        root = os.geteuid() == 0
        if root:
            try:
                nobody = pwd.getpwnam("nobody")
                internal = pwd.getpwnam("dovecot")
                pwd.getpwnam("dovenull")
            except KeyError as e:
                raise ServerUnavailable(f"Dovecot's system users are missing: {e}") from None
            self.uid, self.gid = nobody.pw_uid, nobody.pw_gid
            internal_user, login_user, auth_user = "dovecot", "dovenull", "root"
            internal_group = grp.getgrgid(internal.pw_gid).gr_name
            self.homes = Path(tempfile.mkdtemp(prefix="supportbot-dovecot-"))
            os.chown(self.homes, self.uid, self.gid)
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
            internal_user = login_user = auth_user = getpass.getuser()
            internal_group = grp.getgrgid(self.gid).gr_name
            self.homes = directory / "homes"
            self.homes.mkdir()
        self._own_homes = root
        for sub in ("base", "state"):
            (directory / sub).mkdir(exist_ok=True)
        self.passwd = directory / "passwd"
        self.passwd.write_text("")
        self._free: list[ImapAccount] = []
        self.conf = directory / "dovecot.conf"
        self.conf.write_text(DOVECOT_CONF.format(
            host=HOST, base=directory / "base", state=directory / "state", log=self.log,
            cert=certificate.cert, key=certificate.key, internal_user=internal_user,
            internal_group=internal_group, login_user=login_user, auth_user=auth_user,
            uid=self.uid, gid=self.gid, passwd=self.passwd, port=self.port,
            tls_port=self.tls_port))
        self._accounts = 0
        self._add_users(32)  # before the start: Dovecot reads them all at the first login

    def start(self) -> None:
        assert self.exe is not None
        self._spawn([self.exe, "-F", "-c", str(self.conf)], [self.port, self.tls_port])

    def remove(self) -> None:
        self.stop()
        if self._own_homes:
            shutil.rmtree(self.homes, ignore_errors=True)

    def account(self) -> ImapAccount:
        if not self._free:
            # Dovecot re-reads the passwd file at most once a second: add users in batches
            time.sleep(1.1)
            self._add_users(32)
        return self._free.pop(0)

    def _add_users(self, n: int) -> None:
        lines = []
        for _ in range(n):
            self._accounts += 1
            username = f"support{self._accounts}"
            password = f"s3cret-{self._accounts}-{os.urandom(4).hex()}"
            home = self.homes / username
            home.mkdir()
            os.chown(home, self.uid, self.gid)
            lines.append(f"{username}:{{PLAIN}}{password}:{self.uid}:{self.gid}::{home}::\n")
            self._free.append(ImapAccount(self, username, password, home))
        with self.passwd.open("a") as f:
            f.writelines(lines)

    def drop_connections(self, account: ImapAccount) -> None:
        """``doveadm kick``: the sessions hear BYE and are closed, the mail stays. (A restart
        would not do: Dovecot's running imap processes outlive their master.)"""
        doveadm = str(Path(self.exe or "").with_name("doveadm"))
        if not os.path.exists(doveadm):
            doveadm = shutil.which("doveadm") or "/usr/bin/doveadm"
        subprocess.run([doveadm, "-c", str(self.conf), "kick", account.username], check=True,
                       capture_output=True, timeout=30)

    def reset_uidvalidity(self, account: ImapAccount, folder: str) -> None:
        """What happens when Dovecot loses its uid list (a restored backup, a rebuilt maildir):
        with the server stopped, remove the folder's uid list and indexes; once started again
        Dovecot numbers the mail afresh under a new UIDVALIDITY."""
        assert account.home is not None
        maildir = account.home / "Maildir"
        where = maildir if folder == "INBOX" else maildir / f".{folder}"
        self.stop()
        for path in [*where.glob("dovecot-uidlist*"), *where.glob("dovecot.index*"),
                     *maildir.glob("dovecot.list.index*")]:
            path.unlink()
        self.start()


SERVERS: dict[str, type[ImapServer]] = {"pymap": PymapServer, "dovecot": DovecotServer}


@contextmanager
def running_server(kind: str, directory: Path, certificate: Certificate) -> Iterator[ImapServer]:
    """Start a server of ``kind`` (raises ServerUnavailable if it cannot be) and stop it after."""
    server = SERVERS[kind](directory, certificate)
    try:
        if kind != "pymap":  # pymap starts per account
            server.start()
        yield server
    finally:
        if isinstance(server, DovecotServer):
            server.remove()
        else:
            server.stop()
