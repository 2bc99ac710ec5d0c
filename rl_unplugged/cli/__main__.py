"""`python -m rl_unplugged.cli`."""

import sys

from rl_unplugged.cli import main

sys.exit(main())
