"""Twilio: the client's P1 follow-up call and paging on-call, as a web component."""
