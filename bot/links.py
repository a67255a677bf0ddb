"""Signed links for clients: the status page of one ticket and the satisfaction rating.

A token names one purpose (``status`` or ``rate``), one ticket and an expiry instant, signed
with HMAC-SHA256 under the install's secret (``client_links.secret``). Nothing is stored: a
token is valid while its signature matches and its expiry has not passed; a tampered one, an
expired one or one of another purpose reads as no ticket at all. Pure: the instant comes from
the caller, the URL base from the settings.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

STATUS = "status"
RATE = "rate"
PURPOSES = (STATUS, RATE)
SCORES = (1, 2, 3, 4, 5)
_SIG_BYTES = 16  # 128 bits of HMAC-SHA256: unguessable, and the link stays short


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class LinkToken:
    """What a valid token says."""

    purpose: str
    ticket_id: int
    expires: datetime


@dataclass(frozen=True)
class ClientLinks:
    """Makes and checks the signed links of one install."""

    secret: bytes
    public_url: str
    status_days: int = 90
    """How long an acknowledgement's status link works, from the acknowledgement."""
    rating_days: int = 30
    """How long a resolution's rating links work, from the resolution."""

    def __post_init__(self) -> None:
        if len(self.secret) < 16:
            raise ValueError("the link secret must be at least 16 bytes")

    # -- making --------------------------------------------------------------------------

    def token(self, purpose: str, ticket_id: int, expires: datetime) -> str:
        if purpose not in PURPOSES:
            raise ValueError(f"unknown link purpose {purpose!r}")
        body = f"{purpose}.{ticket_id}.{int(expires.timestamp())}"
        return f"{_b64(body.encode('ascii'))}.{self._sign(body)}"

    def status_url(self, ticket_id: int, now: datetime) -> str:
        token = self.token(STATUS, ticket_id, now + timedelta(days=self.status_days))
        return f"{self.base}/status/{token}"

    def rating_token(self, ticket_id: int, resolved_at: datetime) -> str:
        return self.token(RATE, ticket_id, resolved_at + timedelta(days=self.rating_days))

    def rate_urls(self, ticket_id: int, resolved_at: datetime) -> dict[int, str]:
        """Score -> the link that asks to confirm that score."""
        token = self.rating_token(ticket_id, resolved_at)
        return {n: f"{self.base}/rate/{token}/{n}" for n in SCORES}

    @property
    def base(self) -> str:
        return self.public_url.rstrip("/")

    # -- checking ------------------------------------------------------------------------

    def read(self, token: str, purpose: str, now: datetime) -> LinkToken | None:
        """What ``token`` says, if it is one of ours, of ``purpose`` and not expired."""
        encoded, _, sig = token.partition(".")
        try:
            body = _unb64(encoded).decode("ascii")
        except (ValueError, UnicodeDecodeError):
            return None
        if _b64(body.encode("ascii")) != encoded:  # one spelling per token: no spare bits
            return None
        if not (sig and sig.isascii() and hmac.compare_digest(sig, self._sign(body))):
            return None
        kind, _, rest = body.partition(".")
        ticket, _, stamp = rest.partition(".")
        if kind != purpose or not ticket.isdigit() or not stamp.isdigit():
            return None
        expires = datetime.fromtimestamp(int(stamp), UTC)
        if now >= expires:
            return None
        return LinkToken(kind, int(ticket), expires)

    def form_key(self, token: str, nonce: str) -> str:
        """The CSRF value of a form on the page of ``token`` for the browser holding
        ``nonce`` (its cookie): valid for that token and that browser only."""
        return self._sign(f"form.{token}.{nonce}")

    def form_key_ok(self, token: str, nonce: str, given: str) -> bool:
        return bool(nonce) and bool(given) and given.isascii() and hmac.compare_digest(
            given, self.form_key(token, nonce))

    def _sign(self, body: str) -> str:
        digest = hmac.new(self.secret, body.encode("ascii"), hashlib.sha256).digest()
        return _b64(digest[:_SIG_BYTES])
