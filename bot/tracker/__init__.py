"""Keeping a client's joint tracker (Jira, Trello, Asana) a mirror of its tickets, both ways.

The core decides, with no I/O: which tracker work a ticket's new events call for
(:mod:`bot.tracker.mirror`), what the item says (:mod:`bot.tracker.item`), and what a change
made in the tracker means for the ticket, echoes of the bot's own changes left out
(:mod:`bot.tracker.inbound`). Adapters (``adapters/trackers``) talk to the vendors.
"""
