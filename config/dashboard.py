"""The ``[dashboard]`` table: the staff dashboard on the web app (``/staff``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr

from config.fields import Section


class DashboardSettings(Section):
    """Server-rendered pages for the provider's staff, signed in with a password."""

    enabled: bool = False
    session_secret: SecretStr = SecretStr("")
    """Signs the session cookie; the same on every instance behind one address (at least 32
    characters; ``SUPPORTBOT_DASHBOARD__SESSION_SECRET`` keeps it out of the file)."""
    secure_cookies: bool = True
    """Send the session cookie over https only (false only for plain-http development)."""
    session_hours: Annotated[int, Field(ge=1, le=24 * 30)] = 12
    login_attempts: Annotated[int, Field(ge=1, le=1000)] = 5
    """Failed sign-ins allowed per account, and per address, within ``login_window_minutes``;
    further tries are refused until the window has passed."""
    login_window_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 15
    queue_rows: Annotated[int, Field(ge=10, le=5000)] = 200
    """Most tickets the queue page shows at once (the most urgent first)."""
