"""The bot's listening sockets, bound before anything starts: an address that cannot be had
(a port in use, a port below 1024 without the right, a host not on this machine) ends the start
in one line naming the setting, with nothing to undo."""

from __future__ import annotations

import errno
import os
import socket

from bot.errors import ListenError


def listening_socket(host: str, port: int, *, section: str, source: str) -> socket.socket:
    """A TCP socket listening on ``host``:``port`` (from ``[section]`` of the settings in
    ``source``); ListenError naming the key when it cannot be had."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                    flags=socket.AI_PASSIVE)[0][0]
        sock = socket.create_server((host, port), family=family, backlog=100)
    except OSError as e:
        wrong_host = isinstance(e, socket.gaierror) or e.errno == errno.EADDRNOTAVAIL
        key = f"{section}.host" if wrong_host else f"{section}.port"
        reason = (os.strerror(e.errno) if e.errno and not isinstance(e, socket.gaierror)
                  else e.strerror or str(e)).lower()
        raise ListenError(f"cannot listen on {host}:{port} for {key} (settings from "
                          f"{source}): {reason}") from None
    sock.setblocking(False)
    return sock
