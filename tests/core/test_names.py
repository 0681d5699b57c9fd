"""The names a layer or network may not take: the compiled module's own attributes, as torch has them."""

import pytest
import torch
import torch.nn as nn

import netspec
from netspec.core.names import MODULE_ATTRIBUTES, reserved_name


def test_the_list_holds_every_public_attribute_of_the_installed_torch():
    """check never imports torch, so the list is written out; this keeps it current with torch."""
    module = torch.fx.GraphModule(nn.Module(), torch.fx.Graph())
    torch_names = set(dir(torch.fx.GraphModule)) | set(dir(nn.Module)) | set(vars(module))
    missing = sorted(n for n in torch_names if not n.startswith("_") and n not in MODULE_ATTRIBUTES)
    assert not missing, f"add to netspec/core/names.py MODULE_ATTRIBUTES: {missing}"


@pytest.mark.parametrize("name", ["forward", "training", "cuda", "parameters", "graph", "code", "_modules"])
def test_torch_refuses_the_names_check_refuses(name):
    """The reason for the rule, from torch itself: such a submodule name cannot be added."""
    assert reserved_name(name) is not None
    parent = torch.fx.GraphModule(nn.Module(), torch.fx.Graph())
    with pytest.raises(KeyError, match="already exists"):
        parent.add_module(name, nn.Linear(2, 2))


@pytest.mark.parametrize("name", ["fc", "forward_layer", "conv1", "train_head", "net"])
def test_ordinary_names_pass_check_and_compile(name):
    spec = {"input": [4], "layers": [{"kind": "dense", "units": 3, "name": name}]}
    assert reserved_name(name) is None
    model = netspec.compile(spec)
    assert isinstance(getattr(model, name), nn.Linear)


@pytest.mark.parametrize("name", ["forward", "training", "cuda", "parameters", "_modules", "graph", "_private"])
def test_check_refuses_a_layer_named_after_a_module_attribute_at_the_name(name):
    text = f"input: [4]\nlayers:\n  - dense: {{units: 3, name: {name}}}\n"
    with pytest.raises(netspec.SpecValidationError) as info:
        netspec.check(text)
    message = str(info.value)
    at = text.splitlines()[2].index(name) + 1  # the name written, not the key 'name'
    assert message.startswith(f"<string>:3:{at}: layers[0].name:"), message
    assert "hint:" in message


def test_several_networks_may_not_take_module_attribute_names_one_may():
    two = ("name: x\nnetworks:\n  a:\n    input: [4]\n    layers: [dense: 2]\n"
           "  forward:\n    input: [4]\n    layers: [dense: 2]\n")
    with pytest.raises(netspec.SpecValidationError) as info:
        netspec.check(two)
    assert str(info.value).startswith("<string>:6:3: networks.forward: network name 'forward'")
    # torch agrees: two networks are submodules of one module, and 'forward' cannot be one
    with pytest.raises(KeyError):
        nn.Module().add_module("forward", nn.Linear(2, 2))
    one = "name: x\nnetworks:\n  forward:\n    input: [4]\n    layers: [dense: 2]\n"
    assert netspec.compile(one)(torch.zeros(1, 4)).shape == (1, 2)  # the module itself: no attribute named so
