"""``python -m agentdeck.sim``: the same as ``agentdeck sim``."""

import sys

from .cli import cli_main

sys.exit(cli_main())
