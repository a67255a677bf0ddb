"""The joint trackers: Jira (the ``jira`` library), Trello (a small typed client on httpx),
Asana (its official SDK); their webhooks; the outbox delivery of kind ``tracker``."""
