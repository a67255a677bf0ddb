"""The one inbox: every intake stores its raw input first (committed before it says yes),
then a decide function says what it means, with attempts, backoff and quarantine here.

A new intake is a web component that calls ``Inbox.accept`` plus a decide function for
``Inbox.process``. The table's operations are ``adapters.storage.inbox``.
"""
