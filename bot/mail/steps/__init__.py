"""The steps a stored mail goes through, one module each, in the order ``bot/mail/chain.py``
lists them. Each has a ``NAME``, a ``DESCRIPTION`` and ``run(ctx)``: it returns the message's
``Outcome`` when it decided what the message is (the chain stops there), or None to hand the
message on, perhaps having learnt something about it into ``ctx``."""
