"""Slack: tickets from channels, triage in threads, ``/ticket`` and buttons."""
