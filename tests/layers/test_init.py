"""`init:` schemes' arguments: what torch.nn.init refuses (or fills with nan/inf) is refused by `check`,
at the value written, in the user's words (never a pydantic model's name)."""

from __future__ import annotations

import math

import pytest
import torch

import netspec
from netspec.core.errors import NetspecError, Problem
from netspec.layers.init import INIT_SCHEMES

LINE = "  - dense: {units: 3, name: d, init: {weight: %s}}"


def _problem(init: str) -> tuple[Problem, str]:
    line = LINE % init
    with pytest.raises(NetspecError) as info:
        netspec.check(f"input: [4]\nlayers:\n{line}\n")
    (problem,) = info.value.problems
    assert problem.location is not None and problem.location.line == 3, problem
    return problem, line


def _torch_fill(scheme: str, **args: float) -> torch.Tensor:
    """The scheme's torch function on a (3, 4) weight with these arguments (its keyword names from the table)."""
    entry = INIT_SCHEMES[scheme]
    t = torch.empty(3, 4)
    getattr(torch.nn.init, entry.torch_fn)(t, **{entry.args[k]: v for k, v in args.items()}, **entry.kwargs)
    return t


def _torch_refuses(scheme: str, **args: float) -> bool:
    """torch raises, or fills the weight with values that are not finite (a network that trains to nan)."""
    try:
        return not bool(_torch_fill(scheme, **args).isfinite().all())
    except (RuntimeError, ValueError, OverflowError):
        return True


# (init as written, the scheme and arguments torch is given, the text at which the problem points, a fragment)
REFUSED = [
    ("{scheme: normal, std: -1}", "normal", {"std": -1.0}, "-1", "std must be ≥ 0"),
    ("{scheme: normal, std: .nan}", "normal", {"std": math.nan}, ".nan", "finite"),
    ("{scheme: normal, mean: .inf}", "normal", {"mean": math.inf}, ".inf", "finite"),
    ("{scheme: uniform, a: 1, b: 0}", "uniform", {"a": 1.0, "b": 0.0}, "1", "a must be ≤ b"),
    ("{scheme: uniform, a: -3e38, b: 3e38}", "uniform", {"a": -3e38, "b": 3e38}, "-3e38", "apart"),
    ("{scheme: uniform, a: 0, b: 1e400}", "uniform", {"a": 0.0, "b": math.inf}, "1e400", "finite"),
    ("{scheme: constant, value: .inf}", "constant", {"value": math.inf}, ".inf", "finite"),
    ("{scheme: constant, value: 1e39}", "constant", {"value": 1e39}, "1e39", "finite"),
    ("{scheme: xavier_uniform, gain: -1}", "xavier_uniform", {"gain": -1.0}, "-1", "gain must be > 0"),
    ("{scheme: xavier_normal, gain: -2}", "xavier_normal", {"gain": -2.0}, "-2", "gain must be > 0"),
    ("{scheme: xavier_normal, gain: .inf}", "xavier_normal", {"gain": math.inf}, ".inf", "finite"),
    ("{scheme: orthogonal, gain: .nan}", "orthogonal", {"gain": math.nan}, ".nan", "finite"),
]


@pytest.mark.parametrize("init, scheme, args, at, fragment", REFUSED, ids=[r[0] for r in REFUSED])
def test_arguments_torch_refuses_are_refused_at_the_value(init, scheme, args, at, fragment):
    assert _torch_refuses(scheme, **args)  # the independent source: torch itself, at run time
    problem, line = _problem(init)
    assert fragment in problem.message
    assert problem.location.column == line.index(at, line.index("weight")) + 1  # at the value written


@pytest.mark.parametrize("init, value, expected", [
    (".nan", float("nan"), "got .nan"), ("1e400", float("inf"), "got 1e400 (too large for a float"), ("-.inf", float("-inf"), "got -.inf"),
    ("[[1, 0, 0, 0], [0, .nan, 0, 0], [0, 0, 1, 0]]", float("nan"), "got .nan")])
def test_values_that_do_not_fit_a_float32_are_refused(init, value, expected):
    """A literal value fills the float32 weight: torch fills nan/inf as such (a network that trains to nan)."""
    assert not torch.nn.init.constant_(torch.empty(1), value).isfinite().all()  # torch takes it silently
    problem, line = _problem(init)
    assert expected in problem.message and "finite" in problem.message
    leaf = "[1][1]" if init.startswith("[") else ""  # in a nested list: at the number (row 1, column 1), not the list
    assert problem.path == "layers[0].init.weight" + leaf
    assert problem.location.column == line.index(expected.removeprefix("got ") if leaf else init) + 1


@pytest.mark.parametrize("init, scheme, args", [
    ("{scheme: normal, std: 0}", "normal", {"std": 0.0}),  # torch: std >= 0, so 0 (all the mean) is fine
    ("{scheme: uniform, a: 2, b: 2}", "uniform", {"a": 2.0, "b": 2.0}),  # from == to is allowed
    ("{scheme: uniform, a: -1e38, b: 1e38}", "uniform", {"a": -1e38, "b": 1e38}),
    ("{scheme: constant, value: -3e38}", "constant", {"value": -3e38}),
    ("{scheme: xavier_normal, gain: 0.01}", "xavier_normal", {"gain": 0.01}),
])
def test_edge_arguments_torch_takes_still_pass(init, scheme, args):
    assert not _torch_refuses(scheme, **args)
    text = f"input: [4]\nlayers:\n{LINE % init}\n"
    netspec.check(text)
    model = netspec.compile(text)
    assert torch.equal(model.d.weight.isfinite(), torch.ones(3, 4, dtype=torch.bool))


def test_gain_zero_is_refused_with_a_hint():
    """torch accepts gain 0 (all zeros): netspec refuses it as a likely slip and points at 'zeros'."""
    assert torch.count_nonzero(_torch_fill("xavier_uniform", gain=0.0)) == 0
    problem, line = _problem("{scheme: xavier_uniform, gain: 0}")
    assert "gain must be > 0" in problem.message and "zeros" in problem.hint


@pytest.mark.parametrize("init, key, fragment", [
    ("{scheme: normal, foo: 2}", "foo", "unknown option 'foo' for init scheme normal (it takes: mean, std)"),
    ("{scheme: normal, gain: 2}", "gain", "unknown option 'gain' for init scheme normal (it takes: mean, std)"),
    ("{scheme: he_normal, std: 2}", "std", "unknown option 'std' for init scheme he_normal (it takes no options)"),
    ("{scheme: uniform, stdd: 2}", "stdd", "unknown option 'stdd' for init scheme uniform (it takes: a, b)"),
])
def test_an_option_the_scheme_does_not_take_is_named_at_its_key(init, key, fragment):
    problem, line = _problem(init)
    assert fragment in problem.message
    assert "InitSpec" not in str(problem) and problem.path == f"layers[0].init.weight.{key}"
    assert problem.location.column == line.index(f"{key}:") + 1


def test_a_near_miss_option_gets_a_did_you_mean():
    problem, _ = _problem("{scheme: normal, sdt: 0.1}")
    assert "did you mean 'std'" in problem.hint


def test_a_mapping_without_its_scheme_says_so():
    problem, line = _problem("{std: 2}")
    assert problem.message.startswith("scheme is missing") and "InitSpec" not in str(problem)
    assert "'scheme'" in problem.hint and ": normal (" in problem.hint  # only normal_ takes a std
    assert problem.location.column == line.index("{std") + 1


def test_every_scheme_with_its_own_options_passes():
    """The table's arguments are each taken by its torch function (the keyword names are torch's)."""
    for scheme, entry in INIT_SCHEMES.items():
        if entry.torch_fn is None:
            continue
        args = {k: 0.5 for k in entry.args}
        assert not _torch_refuses(scheme, **args), scheme
        text = f"input: [4]\nlayers:\n  - dense: {{units: 3, init: {{weight: {{scheme: {scheme}" + "".join(
            f", {k}: 0.5" for k in args) + "}}}\n"
        netspec.check(text)


def test_a_scheme_written_as_a_key_is_named_in_the_hint():
    problem, _ = _problem("{normal: {std: 0.02}}")
    assert "'normal' is written as a key" in problem.message
    assert problem.hint == "name it with the key 'scheme': {scheme: normal, std: 0.02}"  # a mapping, as written


def test_a_negative_gain_is_not_told_to_write_zeros():
    assert _torch_refuses("xavier_normal", gain=-1.0)  # torch itself refuses it (a negative std)
    problem, _ = _problem("{scheme: xavier_normal, gain: -1}")
    assert "gain must be > 0" in problem.message and "zeros" not in problem.hint


# --- one scheme with arguments for the whole layer: `init: {scheme: normal, std: 0.02}` (the README's form) ---
def _compiled(init: str, units: int = 400, features: int = 300, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return netspec.compile(f"input: [{features}]\nlayers:\n  - dense: {{units: {units}, name: d}}\n    init: {init}\n")


def test_a_scheme_with_arguments_initialises_every_parameter_as_torch_does():
    """The reference: torch at run time, seeded the same: the default Linear, then normal_(std=0.02) on its
    weight and on its bias, as the bare name `init: normal` initialises the bias as well."""
    torch.manual_seed(0)
    ref = torch.nn.Linear(300, 400)
    torch.nn.init.normal_(ref.weight, std=0.02)
    torch.nn.init.normal_(ref.bias, std=0.02)
    model = _compiled("{scheme: normal, std: 0.02}")
    assert torch.equal(model.d.weight, ref.weight) and torch.equal(model.d.bias, ref.bias)
    assert abs(float(model.d.weight.detach().std()) - 0.02) < 1e-3  # 120,000 draws: the std written, not torch's 1


def test_a_scheme_with_arguments_is_the_bare_name_with_those_arguments():
    """`{scheme: S, args}` does what `init: S` does, with the arguments: the same draws scaled (normal),
    the same zero bias for a fan-based scheme (a vector has no fan)."""
    bare, scaled = _compiled("normal"), _compiled("{scheme: normal, std: 0.02}")
    assert torch.allclose(scaled.d.weight, bare.d.weight * 0.02) and torch.allclose(scaled.d.bias, bare.d.bias * 0.02)
    bare, gained = _compiled("xavier_uniform"), _compiled("{scheme: xavier_uniform, gain: 2}")
    assert torch.count_nonzero(bare.d.bias) == 0 and torch.count_nonzero(gained.d.bias) == 0
    bound = 2 * math.sqrt(6 / (300 + 400))  # xavier_uniform_: gain * sqrt(6 / (fan_in + fan_out)), worked by hand
    top = float(gained.d.weight.detach().abs().max())
    assert 0.99 * bound < top <= bound
    assert torch.allclose(gained.d.weight, bare.d.weight * 2)  # the same draws, twice the bound


def test_a_scheme_with_arguments_on_a_structure_initialises_every_layer_inside():
    torch.manual_seed(0)
    model = netspec.compile("input: [3]\nlayers:\n  - residual:\n      layers: [{dense: {units: 3, name: d}}]\n"
                            "    init: {scheme: constant, value: 0.5}\n")
    params = dict(model.named_parameters())
    assert set(params) == {"residual_1.d.weight", "residual_1.d.bias"}
    for p in params.values():  # constant_(t, 0.5): every entry 0.5
        assert torch.equal(p, torch.full_like(p, 0.5))


@pytest.mark.parametrize("init, at, fragment", [
    ("{scheme: normal, std: -1}", "-1", "std must be ≥ 0"),
    ("{scheme: normal, foo: 2}", "foo", "unknown option 'foo' for init scheme normal"),
    ("{scheme: normall, std: 1}", "normall", "got 'normall'"),
])
def test_a_scheme_for_the_whole_layer_is_checked_as_one_for_a_parameter(init, at, fragment):
    line = f"    init: {init}"
    with pytest.raises(NetspecError) as info:
        netspec.check(f"input: [4]\nlayers:\n  - dense: {{units: 3}}\n{line}\n")
    (problem,) = info.value.problems
    assert fragment in problem.message and "InitSpec" not in str(problem)
    assert (problem.location.line, problem.location.column) == (4, line.index(at) + 1)


def test_a_parameter_written_among_a_schemes_options_is_told_where_it_goes():
    line = "    init: {scheme: normal, weight: zeros}"
    with pytest.raises(NetspecError) as info:
        netspec.check(f"input: [4]\nlayers:\n  - dense: {{units: 3}}\n{line}\n")
    (problem,) = info.value.problems
    assert "unknown option 'weight' for init scheme normal" in problem.message
    assert "init: {weight: {scheme: normal}}" in problem.hint
    assert (problem.location.line, problem.location.column) == (4, line.index("weight") + 1)


@pytest.mark.parametrize("line", ["  - dense: {units: 3}\n    init: {wieght: normal, bias: 0}",
                                  "  - dense: {units: 3, init: {bias: 0, wieght: normal}}",
                                  "  - dense: {units: 3}\n    init:\n      wieght: normal"])
def test_an_unknown_parameter_is_named_at_its_key_with_both_forms(line):
    text = f"input: [4]\nlayers:\n{line}\n"
    with pytest.raises(NetspecError) as info:
        netspec.check(text)
    (problem,) = info.value.problems
    assert "init names 'wieght', but dense has parameters: weight, bias" in problem.message
    offset = text.index("wieght")  # the key as written: its line and column from the text itself
    assert (problem.location.line, problem.location.column) == (
        text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset))
    assert "did you mean 'weight'?" in problem.hint
    assert "init: {weight: kaiming_normal}" in problem.hint and "init: {scheme: normal, std: 0.02}" in problem.hint


@pytest.mark.parametrize("init", ["normal", "{scheme: normal, std: 0.02}"])
def test_a_scheme_for_every_parameter_of_a_tied_layer_is_refused_alike(init):
    """Both forms set the tied weight too, which the other layer initialises: the same problem, at init."""
    line = f"    init: {init}"
    with pytest.raises(NetspecError) as info:
        netspec.check("input: {shape: [5], dtype: long}\nlayers:\n  - embedding: {vocab: 16, dim: 8, name: wte}\n"
                      f"  - dense: {{units: 16, bias: false}}\n    tie: {{weight: wte}}\n{line}\n")
    (problem,) = info.value.problems
    assert "init: weight is tied to wte.weight" in problem.message
    assert (problem.location.line, problem.location.column) == (6, line.index(init) + 1)


def test_a_per_parameter_init_on_a_structure_is_told_both_forms_for_every_layer_inside():
    line = "    init: {weight: zeros}"
    with pytest.raises(NetspecError) as info:
        netspec.check(f"input: [3]\nlayers:\n  - residual:\n      layers: [{{dense: 3}}]\n{line}\n")
    (problem,) = info.value.problems
    assert "names the parameters of one layer" in problem.message and "{scheme: ..., options}" in problem.hint
    assert (problem.location.line, problem.location.column) == (5, line.index("{weight") + 1)


def test_one_scheme_for_every_parameter_dumps_without_pydantic_warnings():
    """`init: {scheme: normal, std: 0.02}` on a layer is dumped as the mapping it was (convert's read-back
    dumps the validated spec): pydantic warned that the value was not of the field's declared union."""
    import warnings

    from netspec.convert import convert

    text = "input: [6]\nlayers:\n  - dense: {units: 3, init: {scheme: normal, std: 0.02}}\n"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        written = convert(text, fmt="yaml", to="dsl")
        layer = netspec.load(text).networks["net"].layers[0]
        dumped = layer.model_dump(by_alias=True)["init"]
    assert "init={scheme=normal, std=0.02}" in written
    assert dumped["scheme"] == "normal" and dumped["std"] == 0.02
