"""`python -m agentpress.cli`: the `agentpress` command without its console script."""

import sys

from agentpress.cli import main

sys.exit(main())
