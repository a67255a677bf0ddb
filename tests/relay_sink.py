"""A relay for tests in a process of its own: ``python -m tests.relay_sink PORTFILE RECEIPTS``
serves SMTP on a free loopback port (written to PORTFILE) and appends the Message-ID of every
message it accepts to RECEIPTS, one line each, before it answers 250. Being another process,
its answers are not timed by the test's own threads (as a sink in the test process would be,
through the interpreter lock)."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP

MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


class Receipts:
    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        found = MESSAGE_ID.search(envelope.original_content)
        os.write(self.fd, (found.group(1) if found else b"?") + b"\n")
        return "250 2.0.0 OK"


async def serve(port_file: Path, receipts: Path) -> None:
    handler = Receipts(receipts)
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(handler), "127.0.0.1", 0)
    temp = port_file.with_suffix(".tmp")
    temp.write_text(str(server.sockets[0].getsockname()[1]))
    temp.rename(port_file)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(Path(sys.argv[1]), Path(sys.argv[2])))
