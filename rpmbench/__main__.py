"""Entry point for ``python -m rpmbench``."""

import sys

from rpmbench.cli import main

if __name__ == "__main__":
    sys.exit(main())
