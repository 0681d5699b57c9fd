"""Positions in the raw tree: a key's place and its value's, and a walk that reports both."""

from __future__ import annotations

from netspec.core.errors import Location
from netspec.core.source import PosDict, PosList, walk


def _tree() -> PosDict:
    # layers:            <- line 1
    #   - conv2d:        <- line 2
    #       stride: 0    <- line 3: key at column 7, value at column 15
    #       kernel: [3, x]  <- line 4: key at 7, list at 15, 'x' at 19
    args = PosDict({"stride": 0, "kernel": PosList([3, "x"], pos=Location("f", 4, 15),
                                                    item_pos=[Location("f", 4, 16), Location("f", 4, 19)])},
                   pos=Location("f", 3, 7))
    args.key_pos = {"stride": Location("f", 3, 7, (3, 15)), "kernel": Location("f", 4, 7)}
    item = PosDict({"conv2d": args}, pos=Location("f", 2, 5))
    item.key_pos = {"conv2d": Location("f", 2, 5, (3, 7))}
    root = PosDict({"layers": PosList([item], pos=Location("f", 2, 3), item_pos=[Location("f", 2, 5)])},
                   pos=Location("f", 1, 1))
    root.key_pos = {"layers": Location("f", 1, 1, (2, 3))}
    return root


def test_a_keys_location_keeps_its_values_place_out_of_its_identity():
    key = Location("f", 3, 7, (3, 15))
    assert key == Location("f", 3, 7) and hash(key) == hash(Location("f", 3, 7)) and str(key) == "f:3:7"
    assert key.of_value() == Location("f", 3, 15)
    assert Location("f", 3, 7).of_value() == Location("f", 3, 7)  # not recorded: the key's own place
    assert Location("f", 3, 7).with_value(Location("f", 3, 15)).value_at == (3, 15)
    assert Location("f", 3, 7).with_value(Location("g", 3, 15)).value_at is None  # another file: not this key's


def test_value_where_is_the_values_place_where_the_key_is_the_keys():
    args = _tree()["layers"][0]["conv2d"]
    assert args.where("stride") == Location("f", 3, 7) and args.value_where("stride") == Location("f", 3, 15)
    assert args.value_where("kernel") == Location("f", 4, 15)  # no value_at: the list knows where it starts
    assert args.value_where("missing") == args.pos


def test_walk_reports_the_key_and_the_value():
    tree = _tree()
    spot = walk(tree, ("layers", 0, "conv2d", "stride"))
    assert (spot.where, spot.at) == (Location("f", 3, 7), Location("f", 3, 15))
    spot = walk(tree, ("layers", 0, "conv2d", "kernel", 1))
    assert spot.at == Location("f", 4, 19)  # a list item is its own value
    spot = walk(tree, ("layers", 0, "conv2d", "filters"))  # missing: the walk stops at the mapping's key
    assert spot.steps[-1] == "filters" and spot.at == spot.where
    spot = walk(tree, ("layers", 0, "conv2d", "[key]"))  # about a key itself (a name): at the key
    assert spot.at == spot.where == Location("f", 2, 5)
