"""Run netspec from a checkout: `python cli.py check specs/lenet5.yaml` (same as the `netspec` command)."""

import sys

from netspec.cli import main

if __name__ == "__main__":
    sys.exit(main())
