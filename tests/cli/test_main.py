"""The entry point: each command's module is imported only when that command runs (``netspec.cli.main``)."""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys

from netspec.cli.main import COMMANDS, build_parser

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def registered(module: str) -> list[str]:
    sub = argparse.ArgumentParser().add_subparsers()
    importlib.import_module(module).add_parser(sub)
    return list(sub.choices)


def test_the_command_table_is_what_each_module_registers():
    """COMMANDS says which module adds which commands; a command added to a module but not to the table
    would only be reachable through `netspec --help`'s full parser."""
    for module, names in COMMANDS.items():
        assert registered(module) == list(names), module


def test_a_known_command_builds_only_its_module_and_the_rest_builds_all():
    every = [name for names in COMMANDS.values() for name in names]
    for name in every:
        parser = build_parser(name)
        assert name in parser._subparsers._group_actions[0].choices
    full = build_parser(None)._subparsers._group_actions[0].choices
    assert list(full) == every
    assert list(build_parser("chek")._subparsers._group_actions[0].choices) == every


def test_check_imports_neither_the_other_commands_nor_the_training_recipe():
    """`check` of a spec without `train:` loads no other command's module and not netspec.spec.train
    (45 ms of pydantic classes); a spec with `train:` loads the recipe to validate it."""
    code = ("import sys, io, contextlib\nfrom netspec.cli.main import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    assert main(['check', sys.argv[1], '--json']) == 0\n"
            "print(sorted(m for m in sys.modules if m.startswith('netspec.cli.') or m == 'netspec.spec.train'))\n")
    without = subprocess.run([sys.executable, "-c", code, "specs/resnet152.yaml"], cwd=ROOT, capture_output=True,
                             text=True, timeout=120)
    assert without.returncode == 0, without.stderr
    assert without.stdout.strip() == "['netspec.cli.args', 'netspec.cli.check', 'netspec.cli.main']"
    with_train = subprocess.run([sys.executable, "-c", code, "specs/lenet5.yaml"], cwd=ROOT, capture_output=True,
                                text=True, timeout=120)
    assert with_train.returncode == 0, with_train.stderr
    assert "'netspec.spec.train'" in with_train.stdout


def test_one_shot_commands_run_without_the_cyclic_collector():
    """`check`, `schema` and `kinds` run once and exit: no collector. `check --watch` loops, and the
    commands that import torch (build) need their normal shutdown: they keep it."""
    code = ("import gc, sys\nimport netspec.cli.main as m\n"
            "m.main = lambda: print(gc.isenabled(), flush=True) or 0\n"
            "sys.argv = ['netspec', *sys.argv[1:]]\nm.entry()\n")
    seen = {}
    for args in (["check", "x.yaml"], ["schema"], ["kinds"], ["check", "x.yaml", "--watch"], ["build", "x.yaml"]):
        run = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        seen[" ".join(args)] = run.stdout.strip()
    assert seen == {"check x.yaml": "False", "schema": "False", "kinds": "False", "check x.yaml --watch": "True",
                    "build x.yaml": "True"}


def test_the_entry_point_loads_no_spec_machinery_before_the_command_runs():
    """`import netspec.cli.main` (what the `netspec` script runs) imports neither pydantic nor the layers:
    `entry` sets the collector aside first, so that a one-shot command's imports run without its passes.
    The package's public names still load on first use, and every name in ``__all__`` resolves."""
    code = ("import sys\nimport netspec.cli.main\n"
            "print(sorted(m for m in ('pydantic', 'netspec.api', 'netspec.layers.base') if m in sys.modules))\n"
            "import netspec\n"
            "print(all(callable(getattr(netspec, n)) for n in netspec.__all__), netspec.check is netspec.api.check)\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split("\n")[:2] == ["[]", "True True"]


def test_the_language_server_exits_cleanly_after_shutdown():
    """`netspec lsp` ends the way an editor ends it (initialize, shutdown, exit): status 0, nothing on
    stderr. Its transport closes stdout on `exit`; the command's own exit must not flush it again."""
    import json

    def frame(message: dict) -> bytes:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        return b"Content-Length: %d\r\n\r\n" % len(body) + body

    session = b"".join([
        frame({"id": 1, "method": "initialize", "params": {"processId": None, "rootUri": None, "capabilities": {}}}),
        frame({"method": "initialized", "params": {}}),
        frame({"id": 2, "method": "shutdown"}),
        frame({"method": "exit"}),
    ])
    done = subprocess.run([sys.executable, "-m", "netspec", "lsp"], input=session, capture_output=True, cwd=ROOT,
                          timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr == b""
    assert b'"id": 2' in done.stdout or b'"id":2' in done.stdout  # the shutdown was answered
