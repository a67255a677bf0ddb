"""The one outbox: everything the bot sends is a row of ``outbox`` with a kind and a dedupe
key, written in the transaction that decided it and delivered by the sender of its kind with
one claim / deliver / retry mechanism (``delivery``; the table's operations are
``adapters.storage.outbox``)."""
