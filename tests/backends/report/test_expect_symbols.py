"""An ``expect:`` pin that names a size the network does not have can never hold: it is "unknown symbol",
located at the pin, with the network's symbolic sizes as the hint, and not also a mismatch."""

from __future__ import annotations

import pytest

import netspec


@pytest.mark.parametrize("text,pin,symbol,hint", [
    ('input: [3]\nlayers: [dense: 4]\nexpect: {macs: "T+1"}\n', "expect.macs", "T", "no symbolic sizes"),
    ('input: [T, 3]\nlayers: [dense: 4]\nexpect: {macs: "12*T + x"}\n', "expect.macs", "x", "symbolic sizes: T"),
    ('input: [T, 3]\nlayers: [dense: 4]\nexpect: {shapes: {dense_1: [S, 4]}}\n', "expect.shapes.dense_1", "S",
     "symbolic sizes: T"),
    ('input: [T, 3]\nlayers: [dense: 4]\nexpect: {output_shape: [Tt, 4]}\n', "expect.output_shape", "Tt",
     "did you mean 'T'?"),
])
def test_an_unknown_symbol_in_a_pin_is_said_at_the_pin(text, pin, symbol, hint):
    report = netspec.check(text)
    assert len(report.failures) == 1, report.failures  # not also "expected ... MACs, the network has ..."
    p = report.failures[0]
    assert p.message.startswith(f"unknown symbol '{symbol}'") and p.path == pin, p
    assert p.location is not None and p.location.line == 3
    assert hint in p.hint


def test_a_pin_with_known_symbols_is_still_compared():
    # dense 3 → 4 on (T, 3): 12 multiply-adds per step, 12·T in all
    assert netspec.check('input: [T, 3]\nlayers: [dense: 4]\nexpect: {macs: "12*T"}\n').ok
    report = netspec.check('input: [T, 3]\nlayers: [dense: 4]\nexpect: {macs: "13*T"}\n')
    assert len(report.failures) == 1 and "expected 13*T MACs" in report.failures[0].message


def test_a_bound_symbol_is_known():
    report = netspec.check('input: [T, 3]\nlayers: [dense: 4]\nexpect: {macs: "12*T"}\n', bind={"T": 5})
    assert report.ok, report.failures
