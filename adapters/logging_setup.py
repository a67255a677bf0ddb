"""Logging, configured once at start by the entry point (never at import time)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

_STD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STD}


class TextFormatter(logging.Formatter):
    """``2026-11-22T10:00:00Z INFO supportbot.run: started key=value ...``"""

    def format(self, record: logging.LogRecord) -> str:
        at = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        extras = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        line = f"{at} {record.levelname} {record.name}: {record.getMessage()}"
        line += f" {extras}" if extras else ""
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {"at": datetime.fromtimestamp(record.created, UTC).isoformat(),
               "level": record.levelname, "logger": record.name, "msg": record.getMessage(),
               **{k: str(v) for k, v in _extras(record).items()}}
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc)


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiosmtpd's "mail.log" logs every SMTP command (envelope addresses included) at INFO
    for noisy in ("apscheduler", "sqlalchemy", "mail.log", "imapclient"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
