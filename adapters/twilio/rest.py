"""Calls and SMS through the real ``twilio`` client, sent to a configurable API base URL."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client
from twilio.twiml.voice_response import Gather, VoiceResponse

from adapters.web.reach import Reachability
from bot.phone.ports import TelephonyError

TWILIO_API = "https://api.twilio.com"


class BaseUrlHttpClient(TwilioHttpClient):
    """Sends every Twilio REST request to ``base_url`` instead of ``*.twilio.com`` (a proxy or
    a test double); with Twilio's own URL it changes nothing."""

    def __init__(self, base_url: str, timeout: float = 15.0) -> None:
        super().__init__(timeout=timeout)
        self.base = urlsplit(base_url.rstrip("/"))
        self.logger = logging.getLogger("supportbot.twilio.http")  # never at INFO: no URLs
        self.logger.setLevel(logging.WARNING)

    def request(self, method: str, url: str, params: Any = None, data: Any = None,
                headers: Any = None, auth: Any = None, timeout: float | None = None,
                allow_redirects: bool = False) -> Response:
        u = urlsplit(url)
        if u.hostname and u.hostname.endswith("twilio.com"):
            url = urlunsplit((self.base.scheme, self.base.netloc, self.base.path + u.path,
                              u.query, u.fragment))
        return super().request(method, url, params=params, data=data, headers=headers,
                               auth=auth, timeout=timeout, allow_redirects=allow_redirects)


def page_twiml(text: str, gather_url: str) -> str:
    """Read ``text`` and ask for one key; the key (or silence) is posted to ``gather_url``."""
    r = VoiceResponse()
    g = Gather(num_digits=1, action=gather_url, method="POST", timeout=10,
               action_on_empty_result=True)
    g.say(text)
    r.append(g)
    return str(r)


class TwilioTelephony:
    """The :class:`bot.phone.desk.Telephony` port on Twilio's REST API. Blocking."""

    def __init__(self, account_sid: str, auth_token: str, from_number: str, public_url: str,
                 api_base_url: str = TWILIO_API) -> None:
        self.client = Client(account_sid, auth_token,
                             http_client=BaseUrlHttpClient(api_base_url))
        self.account_sid = account_sid
        self.from_number = from_number
        self.public = public_url.rstrip("/")
        self.reach = Reachability("Twilio API")
        """What the calls to the REST API (and ``probe``) say about it."""

    def _failed(self, e: Exception) -> TelephonyError:
        """Record ``e`` (a refused request is an answer; no connection, refused credentials
        or a server error mean the API cannot be used) and turn it into the port's error."""
        status = getattr(e, "status", None)
        if isinstance(e, TwilioRestException) and status is not None and \
                status < 500 and status not in (401, 403):
            self.reach.succeeded()
        else:
            self.reach.failed(_reason(e))
        return TelephonyError(_reason(e))

    def probe(self) -> None:
        """Fetch the account: records whether the API can be used now (for ``/healthz``)."""
        try:
            self.client.api.v2010.accounts(self.account_sid).fetch()
        except (TwilioException, OSError) as e:
            self._failed(e)
        else:
            self.reach.succeeded()

    def page_call(self, to: str, text: str) -> str:
        try:
            call = self.client.calls.create(
                to=to, from_=self.from_number,
                twiml=page_twiml(text, self.public + "/twilio/page/gather"),
                status_callback=self.public + "/twilio/voice/status",
                status_callback_method="POST",
                status_callback_event=["initiated", "ringing", "answered", "completed"])
        except (TwilioException, OSError) as e:
            raise self._failed(e) from None
        self.reach.succeeded()
        return str(call.sid)

    def sms(self, to: str, text: str) -> str:
        try:
            msg = self.client.messages.create(
                to=to, from_=self.from_number, body=text[:1500],
                status_callback=self.public + "/twilio/sms/status")
        except (TwilioException, OSError) as e:
            raise self._failed(e) from None
        self.reach.succeeded()
        return str(msg.sid)


def _reason(e: Exception) -> str:
    """One short line without credentials (Twilio's errors carry the URL, never the token)."""
    if isinstance(e, OSError):  # requests' connection errors: the URL and a long chain
        return f"cannot reach the Twilio API ({type(e).__name__})"
    msg = getattr(e, "msg", None) or str(e) or type(e).__name__
    status = getattr(e, "status", None)
    return (f"HTTP {status}: " if status else "") + str(msg).strip().splitlines()[0][:300]
