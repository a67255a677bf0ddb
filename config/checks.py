"""Settings that are each valid alone and wrong together. ``load_settings`` refuses the ones the
bot cannot start with; ``cross_problems`` finds the ones it could run with but should not (a
webhook URL in clear text, a password sent in clear text), which ``supportbot config check``
reports, one line each naming the keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from config.settings import Settings

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
"""Hosts a ``web.public_url`` may name over plain http: a development machine's own."""


@dataclass(frozen=True)
class Problem:
    """A mistake spanning ``keys`` (dotted setting names), and why."""

    keys: tuple[str, ...]
    reason: str


def cross_problems(s: Settings) -> list[Problem]:
    """Every cross-setting mistake of ``s``: the web app's, then the relay's."""
    problems: list[Problem] = []
    url = s.web.public_url
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme != "https" and parts.hostname not in LOCAL_HOSTS:
            problems.append(Problem(("web.public_url",), (
                f"{url!r} is not https: Slack and Twilio post to it from the internet and "
                "Slack refuses plain http; http:// is only for 127.0.0.1 or localhost "
                "(development)")))
    problems += _link_problems(s)
    if s.relay.host and s.relay.password is not None and s.relay.security == "none":
        problems.append(Problem(("relay.password", "relay.security"), (
            'relay.security = "none" would send the relay password in clear text: set '
            'relay.security = "starttls" or "tls"')))
    return problems


def _link_problems(s: Settings) -> list[Problem]:
    """Signed client links (status page, rating) are served by the web app at its public URL:
    a secret without both would send links that lead nowhere, so none are sent."""
    if s.client_links.secret is None:
        return []
    missing = [k for k, ok in (("web.enabled", s.web.enabled),
                               ("web.public_url", bool(s.web.public_url))) if not ok]
    if not missing:
        return []
    return [Problem(("client_links.secret", *missing), (
        "client_links.secret is set, but the status page and the rating links are served by "
        "the web app at web.public_url: set " + " and ".join(missing) +
        "; until then no link is put in any mail"))]
