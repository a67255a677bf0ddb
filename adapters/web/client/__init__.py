"""The client's pages on the web app: the status page of one ticket (``/status/{token}``) and
the satisfaction rating (``/rate/{token}/{score}``), reached only through the signed links of
the client's mail (:mod:`bot.links`). A tampered, expired or foreign token is a 404; no page
names another ticket. Pages are Jinja2 templates, autoescaped: a client's HTML stays text.
"""

from adapters.web.client.component import ClientComponent

__all__ = ["ClientComponent"]
