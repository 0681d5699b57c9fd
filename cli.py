"""Run netspec from a checkout: `python cli.py check specs/lenet5.yaml` (same as the `netspec` command)."""
from netspec.cli.main import entry; entry()  # noqa: E702
