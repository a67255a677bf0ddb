"""The phone side of a P1: matching callers to clients, linking calls to tickets, the on-call
paging plan and the call/SMS status state machine. Pure: ``now`` is always an argument."""
