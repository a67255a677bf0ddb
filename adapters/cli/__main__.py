"""``python -m adapters.cli``: the ``supportbot`` command."""

from adapters.cli import main

raise SystemExit(main())
