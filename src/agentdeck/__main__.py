"""``python -m agentdeck``: same as the ``agentdeck`` command."""

from agentdeck.cli import main

raise SystemExit(main())
