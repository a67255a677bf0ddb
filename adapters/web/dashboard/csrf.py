"""CSRF tokens: one random token per session, put in every form (``csrf``) and sent back
with every POST (the form field, or the ``X-CSRF-Token`` header for scripts). A POST without
the session's token is refused (403) before anything is read or changed."""

from __future__ import annotations

import hmac
import secrets

from starlette.datastructures import FormData
from starlette.requests import Request

FIELD = "csrf"
HEADER = "x-csrf-token"


def token(request: Request) -> str:
    """The session's token, made on first use."""
    t = request.session.get(FIELD)
    if not isinstance(t, str) or len(t) < 32:
        t = secrets.token_urlsafe(32)
        request.session[FIELD] = t
    return t


def valid(request: Request, form: FormData) -> bool:
    """Whether the POST carries the session's token."""
    expected = request.session.get(FIELD)
    sent = form.get(FIELD) or request.headers.get(HEADER) or ""
    return isinstance(expected, str) and isinstance(sent, str) and bool(expected) and \
        hmac.compare_digest(expected.encode(), sent.encode())
