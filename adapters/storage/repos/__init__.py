"""The unit of work's repositories, one module per aggregate or table family.

Each ``Sql...Repository`` has one code path: every write is a statement. Its write-behind
variant (``*_wb.py``, a subclass) holds the writes in a ``WriteBehind`` buffer instead and
answers reads from what a batch preloaded; ``SqlUnitOfWork.write_behind()`` swaps them in.
"""
