"""The bot's web app: one ASGI app (Starlette on uvicorn, inside ``supportbot run``) that hosts
every HTTP-facing adapter (Slack, Twilio webhooks) beside ``/healthz`` and ``/metrics``."""
