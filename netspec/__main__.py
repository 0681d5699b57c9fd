"""`python -m netspec ...`: the same as the `netspec` command."""

from netspec.cli.main import entry

entry()
