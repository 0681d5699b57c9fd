"""Properties of every kind's options, over the whole registry: typed values, bounded sizes located at
the option, axes checked against the input's per-sample rank; and `check` agreeing with the JSON
Schema that `netspec schema` gives editors."""

import jsonschema
import pytest
import torch
import yaml
from pydantic import ValidationError

import netspec
from netspec import ShapeError, load
from netspec.backends.torch.compile import example_inputs
from netspec.ir.build import build_graph
from netspec.layers import layer_kinds

WRONG = {  # JSON Schema type -> values of another type (a string is what a quoted YAML value gives)
    "integer": [True, "8", "1e2", 2.5],
    "boolean": ["yes", "true", 1, 0],
    "number": [True, "0.5"],
}


def _scalar_type(prop: dict) -> str | None:
    """The one JSON type a property takes (``integer``, ``boolean``, ``number``), null aside."""
    types = {p.get("type") for p in prop.get("anyOf", [prop])} - {"null"}
    return types.pop() if len(types) == 1 else None


def _typed_fields():
    for kind, cls in layer_kinds().items():
        props = cls.model_json_schema(by_alias=True).get("properties", {})
        base = {k: v for k, v in cls.EXAMPLES[0][0].items()}
        for field, prop in props.items():
            t = _scalar_type(prop)
            if t in WRONG:
                yield kind, field, t, base


TYPED = list(_typed_fields())
SCHEMA = netspec.schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)  # the schema is checked once, by its own test


def _schema_accepts(spec: dict) -> bool:
    return VALIDATOR.is_valid(spec)


def test_the_registry_has_typed_options_of_each_kind():
    assert {t for _, _, t, _ in TYPED} == set(WRONG)
    assert len(TYPED) > 80  # every kind's int/bool/float options (85 kinds; conv2d alone has several)


@pytest.mark.parametrize("kind,field,json_type,base", TYPED, ids=[f"{k}.{f}" for k, f, _, _ in TYPED])
def test_a_value_of_the_wrong_type_is_refused_by_check_and_by_the_schema(kind, field, json_type, base):
    cls = layer_kinds()[kind]
    for value in WRONG[json_type]:
        args = {**base, field: value}
        with pytest.raises(ValidationError) as info:
            cls.model_validate({"kind": kind, **args})
        assert any(e["loc"][:1] == (field,) for e in info.value.errors()), info.value.errors()
        assert not _schema_accepts({"input": [4], "layers": [{kind: args}]}), (kind, field, value)


def test_a_whole_float_is_an_integer_in_check_as_in_the_schema():
    """JSON Schema's "integer" takes 8.0 (a number with no fractional part); check does too."""
    spec = {"input": [4], "layers": [{"dense": {"units": 8.0}}]}
    assert _schema_accepts(spec)
    assert build_graph(load(spec)).network().nodes[-1].outputs["out"].shape == (8,)


def test_dsl_booleans_are_booleans_and_words_are_refused_with_a_hint():
    good = build_graph(load("netspec d\ninput [5, 4]\nlstm 8 bidirectional=true return_sequences=true\n"))
    assert good.network().nodes[-1].outputs["out"].shape == (5, 16)  # torch: 2 directions × 8 units
    with pytest.raises(netspec.SpecValidationError) as info:
        netspec.check("netspec d\ninput [5, 4]\nlstm 8 bidirectional=yes\n")
    at = "lstm 8 bidirectional=yes".index("yes") + 1  # the value written, not the key
    assert str(info.value).startswith(f"<string>:3:{at}: layers[0].bidirectional: expected true or false (write")


# The table the review asked for: each wrong value refused by `check` and by the JSON Schema alike, and
# check's message at the value's own line:col (not its key's), with its path, without the layer's whole
# mapping.
TABLE = [
    ("- conv2d: {filters: true, kernel: 3}", "layers[0].filters", "3:23", "expected an integer"),
    ('- conv2d: {filters: "8", kernel: 3}', "layers[0].filters", "3:23", "expected an integer"),
    ('- conv2d: {filters: 8, bias: "yes"}', "layers[0].bias", "3:32", "expected true or false"),
    ('- dense: {units: "1e2"}', "layers[0].units", "3:20", "expected an integer"),
    ("- dense: {units: 2.5}", "layers[0].units", "3:20", "expected an integer"),
    ("- conv2d: {filters: 8, kernel: 3, stride: -1}", "layers[0].stride", "3:45", "from 1 to 4096"),
    ("- conv2d: {filters: 8, kernel: 0}", "layers[0].kernel", "3:34", "from 1 to 4096"),
    ("- conv2d: {filters: 8, padding: -1}", "layers[0].padding", "3:35", "from 0 to 4096"),
    ("- conv2d: {filters: 8, dilation: 0}", "layers[0].dilation", "3:36", "from 1 to 4096"),
    ("- conv2d: {filters: 8, kernel: [3, 0]}", "layers[0].kernel[1]", "3:38", "from 1 to 4096"),
    ("- conv1d: {filters: 8, stride: [1, 2]}", "layers[0].stride", "3:34", "expected 1 value (one per axis)"),
    ("- max_pool2d: {kernel: 2, stride: 0}", "layers[0].stride", "3:37", "from 1 to 4096"),
    ("- zero_pad2d: {padding: -2}", "layers[0].padding", "3:27", "from 0 to 4096"),
    ("- softmax: {axis: 9}", "layers[0].axis", "3:21", "from -8 to 7"),
    ("- dropout: {rate: true}", "layers[0].rate", "3:21", "expected a number"),
    ("- dense: {units: 3, name: forward}", "layers[0].name", "3:29", "nn.Module"),
    ("- dense: {units: 3, name: _modules}", "layers[0].name", "3:29", "starts with '_'"),
]


@pytest.mark.parametrize("item,path,at,expected", TABLE, ids=[t[0] for t in TABLE])
def test_check_and_the_schema_refuse_the_same_values(item, path, at, expected):
    text = f"input: [3, 16, 16]\nlayers:\n  {item}\n"
    assert not _schema_accepts(yaml.safe_load(text)), item
    with pytest.raises(netspec.SpecValidationError) as info:
        netspec.check(text)
    message = str(info.value)
    assert message.startswith(f"<string>:{at}: {path}: "), message
    assert expected in message and "{'kind'" not in message, message


@pytest.mark.parametrize("tail,path,at,expected", [
    ("train: {epochs: true}", "train.epochs", "4:17", "expected an integer"),
    ('train: {epochs: 3, batch_size: "8"}', "train.batch_size", "4:32", "expected an integer"),
    ('train: {optimizer: {name: sgd, nesterov: "yes"}}', "train.optimizer.nesterov", "4:42", "true or false"),
    ("expect: {params: true}", "expect.params", "4:18", "expected an integer"),
], ids=["epochs", "batch_size", "nesterov", "expect"])
def test_train_and_expect_refuse_wrong_types_as_the_schema_does(tail, path, at, expected):
    text = f"input: [4]\nlayers:\n  - dense: 2\n{tail}\n"
    assert not _schema_accepts(yaml.safe_load(text)), tail
    with pytest.raises(netspec.SpecValidationError) as info:
        netspec.check(text)
    message = str(info.value)
    assert message.startswith(f"<string>:{at}: {path}: ") and expected in message, message


@pytest.mark.parametrize("text,path,at,expected", [
    ("- conv2d: {filters: 6, kernel: 3, groups: 4}", "layers[0].groups", "3:45", "a divisor of filters (6)"),
    ("- conv2d: {filters: 6, stride: 2, padding: same}", "layers[0].padding", "3:46", "needs stride 1"),
    ("- conv_transpose2d: {filters: 6, stride: 2, output_padding: 2}", "layers[0].output_padding", "3:63",
     "smaller than the stride"),
    ("- max_pool2d: {kernel: 2, padding: 2}", "layers[0].padding", "3:38", "at most half the kernel"),
], ids=["groups", "same-stride", "output_padding", "pool-padding"])
def test_checks_across_options_point_at_the_option(text, path, at, expected):  # at the option's value
    with pytest.raises(netspec.SpecValidationError) as info:
        netspec.check(f"input: [4, 16, 16]\nlayers:\n  {text}\n")
    message = str(info.value)
    assert message.startswith(f"<string>:{at}: {path}: ") and expected in message, message
    assert "{'kind'" not in message


def test_dsl_stride_is_located_at_the_stride():
    with pytest.raises(netspec.SpecValidationError) as info:
        netspec.check("netspec d\ninput [1, 32, 32]\nconv 6 5x5 /-2\n")
    assert str(info.value).startswith("<string>:3:12: layers[0].stride: expected a whole number from 1 to 4096")


# --- axes ------------------------------------------------------------------------------------------
def _axis_cases():
    for kind, cls in layer_kinds().items():
        if "axis" not in cls.model_fields or cls.COMPOSITE:
            continue
        for i, (args, shapes) in enumerate(cls.EXAMPLES):
            yield kind, i, args, shapes


AXIS_CASES = list(_axis_cases())


def test_the_kinds_with_an_axis():
    assert {k for k, *_ in AXIS_CASES} >= {"softmax", "log_softmax", "concat", "split", "chunk", "glu", "swiglu",
                                           "layer_scale"}


def _spec(kind, args, shapes):
    inputs = {f"x{i}": {"shape": list(s)} for i, s in enumerate(shapes)}
    layer = {"kind": kind, **args, **({"from": list(inputs)} if len(shapes) > 1 else {})}
    return {"name": "probe", "inputs": inputs, "layers": [layer]}


@pytest.mark.parametrize("kind,i,args,shapes", AXIS_CASES, ids=[f"{c[0]}-{c[1]}" for c in AXIS_CASES])
def test_an_axis_outside_the_per_sample_rank_is_refused_naming_the_range(kind, i, args, shapes):
    rank = len(shapes[0])
    for axis in (rank, -rank - 1):  # one past the last; one before the first (that would be the batch)
        spec = load(_spec(kind, {**args, "axis": axis}, shapes))
        range_ = rf"expected an axis from {-rank} to {rank - 1}"
        with pytest.raises(ShapeError, match=rf"axis {axis} is out of range .* {range_}"):
            build_graph(spec, bind={"T": 6})


@pytest.mark.parametrize("kind", ["softmax", "log_softmax"])
def test_softmax_over_a_negative_axis_never_reaches_the_batch(kind):
    """axis -3 of a (3, 8, 8) sample is its channels, torch's dim 1 of (N, 3, 8, 8); -4 is refused."""
    model = netspec.compile({"input": [3, 8, 8], "layers": [{kind: {"axis": -3}}]})
    x = torch.randn(2, 3, 8, 8)
    want = getattr(torch, kind)(x, dim=1)
    torch.testing.assert_close(model(x), want)
    with pytest.raises(ShapeError, match="expected an axis from -3 to 2"):
        netspec.check({"input": [3, 8, 8], "layers": [{kind: {"axis": -4}}]})


def test_layernorm_over_more_axes_than_the_input_has_names_the_range():
    with pytest.raises(ShapeError, match=r"expected axes 1\.\.2"):
        netspec.check({"input": [3, 5], "layers": [{"layernorm": {"axes": 3}}]})


def test_every_axis_option_has_bounds_in_the_schema():
    for kind, cls in layer_kinds().items():
        if "axis" in cls.model_fields:
            prop = cls.model_json_schema()["properties"]["axis"]
            ints = [p for p in prop.get("anyOf", [prop]) if p.get("type") == "integer"]
            assert ints and all(p["minimum"] == -8 and p["maximum"] == 7 for p in ints), (kind, prop)


def test_size_options_carry_their_bounds_in_the_schema():
    """stride -1 is refused in the editor too: each integer of a size option has minimum and maximum."""
    for kind, cls in layer_kinds().items():
        props = cls.model_json_schema()["properties"]
        for field in ("kernel", "stride", "dilation", "padding", "output_padding", "cropping"):
            if field not in props:
                continue
            text = str(props[field])
            assert "'type': 'integer'" in text and "'minimum'" in text and "'maximum'" in text, (kind, field)


def test_example_inputs_still_run(tmp_path):
    """A typed spec compiles and runs (the options above are only stricter, never different)."""
    graph = build_graph(load(_spec("concat", {"axis": -1}, [(2, 3), (2, 5)]))).network()
    model = netspec.compile(_spec("concat", {"axis": -1}, [(2, 3), (2, 5)]))
    out = model(*example_inputs(graph))
    assert tuple(out.shape[1:]) == (2, 8)


@pytest.mark.parametrize("kind", sorted(k for k, c in layer_kinds().items() if isinstance(getattr(c, "N", None), int)))
def test_a_window_size_list_has_one_value_per_axis(kind: str):
    """A kind with N spatial axes takes, for each size option, one number or a list of N: a list of another
    length was accepted by the 1-D pools (check passed; torch's nn.MaxPool1d then refused it)."""
    cls = layer_kinds()[kind]
    required = {name: 4 for name, info in cls.model_fields.items() if info.is_required() and name != "kind"}
    for option in ("kernel", "stride", "padding", "dilation"):
        if option not in cls.model_fields:
            continue
        for length in {cls.N - 1, cls.N + 1} - {0}:
            with pytest.raises(ValidationError):
                cls(kind=cls.KIND, **required, **{option: [1] * length})
