"""Generative and unusual building blocks: gaussian_noise, activity_regularization, sample (VAE),
locally_connected2d and tiled_conv2d (against slow reference loops), rbm, recursive."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import netspec
from netspec.backends.torch.compile import compile_network
from netspec.core.errors import ShapeError
from netspec.layers.torch.generative import aux_losses

SPECS = Path(__file__).resolve().parents[2] / "specs"
LOCATED = re.compile(r"<string>:\d+:\d+")


def net_of(text: str):
    return netspec.analyze(text).network()


# --- noise, sparsity, sampling ---------------------------------------------------------------------

def test_gaussian_noise_only_in_training() -> None:
    model = compile_network(net_of("name: n\ninput: [4000]\nlayers:\n  - gaussian_noise: 0.5\n"))
    x = torch.zeros(5, 4000)
    model.train()
    noise = model(x)
    assert abs(noise.std().item() - 0.5) < 0.02 and abs(noise.mean().item()) < 0.02
    model.eval()
    assert torch.equal(model(x), x)


def test_activity_regularization_l1_and_kl() -> None:
    text = ("name: s\ninput: [6]\nlayers:\n  - dense: {units: 4, activation: sigmoid}\n"
            "  - activity_regularization: {penalty: PEN, weight: 0.3, rho: 0.1}\n")
    x = torch.randn(8, 6)
    for pen in ("l1", "l2", "kl"):
        model = compile_network(net_of(text.replace("PEN", pen))).train()
        a = model(x)
        if pen == "l1":
            want = 0.3 * a.abs().sum(1).mean()
        elif pen == "l2":
            want = 0.3 * (a ** 2).sum(1).mean()
        else:
            want = 0.3 * sum(0.1 * math.log(0.1 / r) + 0.9 * math.log(0.9 / (1 - r)) for r in a.mean(0).tolist())
        assert torch.allclose(torch.as_tensor(aux_losses(model), dtype=torch.float32),
                              torch.as_tensor(want, dtype=torch.float32), rtol=1e-5)
        model.eval()
        model(x)
        assert aux_losses(model) == 0.0  # aux_loss is None in eval


def test_sample_reparameterization_and_kl() -> None:
    text = ("name: v\ninput: [5]\nlayers:\n  - dense: 3\n    name: mu\n    from: input\n  - dense: 3\n"
            "    name: logvar\n    from: input\n  - sample: {beta: 2.0}\n    from: [mu, logvar]\n")
    net = net_of(text)
    assert net.nodes[-1].out.shape == (3,)
    model = compile_network(net)
    x = torch.randn(4, 5)
    mu_l, lv_l = model.get_submodule("mu"), model.get_submodule("logvar")
    mu, lv = mu_l(x), lv_l(x)
    # KL(N(μ, σ²) ‖ N(0, 1)) per unit = ½(σ² + μ² − 1 − log σ²), by hand.
    kl = sum(0.5 * (math.exp(v) + m * m - 1 - v) for m, v in zip(mu.flatten().tolist(), lv.flatten().tolist())) / 4
    model.train()
    torch.manual_seed(3)
    z = model(x)
    torch.manual_seed(3)
    eps = torch.randn(4, 3)
    assert torch.allclose(z, mu + torch.exp(0.5 * lv) * eps, atol=1e-6)
    assert abs(float(aux_losses(model).detach()) - 2.0 * kl) < 1e-4
    model.eval()
    assert torch.allclose(model(x), mu) and aux_losses(model) == 0.0


@pytest.mark.parametrize("text,fragment", [
    ("name: v\ninput: [5]\nlayers:\n  - dense: 3\n    name: mu\n    from: input\n  - dense: 4\n    name: logvar\n"
     "    from: input\n  - sample: {}\n    from: [mu, logvar]\n", "same shape, got mu (3,) and logvar (4,)"),
    ("name: v\ninput: [5]\nlayers:\n  - dense: 3\n  - sample: {}\n", "hint: from: [mu, logvar]"),
])
def test_sample_rejects_mismatched_inputs(text: str, fragment: str) -> None:
    with pytest.raises(ShapeError) as info:
        netspec.analyze(text)
    assert fragment in str(info.value)
    assert LOCATED.search(str(info.value))


def test_vae_spec_encoder_feeds_decoder() -> None:
    graph = netspec.analyze(SPECS / "vae.yaml")
    enc, dec = (compile_network(graph.network(n)) for n in ("encoder", "decoder"))
    x = torch.rand(3, 784)
    z, mu, logvar = enc.train()(x)
    assert z.shape == mu.shape == logvar.shape == (3, 20)
    assert float(aux_losses(enc).detach()) > 0
    assert dec(z).shape == (3, 784)
    # Five Linear layers 784-400-(20, 20)-400-784, counted by hand.
    assert graph.network("encoder").params + graph.network("decoder").params == \
        (784 * 400 + 400) + 2 * (400 * 20 + 20) + (20 * 400 + 400) + (400 * 784 + 784)


# --- unshared convolutions against slow loops ------------------------------------------------------

def slow_local(x, weight, bias, k, s, p):
    """out[n, o, i, j] = Σ_{c,u,v} W[i, j, o, c, u, v] · x[n, c, i·s + u, j·s + v] + b[o, i, j]."""
    x = F.pad(x, (p[1], p[1], p[0], p[0]))
    ho, wo, o = weight.shape[:3]
    out = torch.zeros(x.shape[0], o, ho, wo)
    for i in range(ho):
        for j in range(wo):
            patch = x[:, :, i * s[0]:i * s[0] + k[0], j * s[1]:j * s[1] + k[1]]
            out[:, :, i, j] = torch.einsum("ncuv,ocuv->no", patch, weight[i, j])
            if bias is not None:
                out[:, :, i, j] += bias[:, i, j]
    return out


def slow_tiled(x, weight, bias, k, s, p):
    x = F.pad(x, (p[1], p[1], p[0], p[0]))
    th, tw, o = weight.shape[:3]
    ho, wo = (x.shape[2] - k[0]) // s[0] + 1, (x.shape[3] - k[1]) // s[1] + 1
    out = torch.zeros(x.shape[0], o, ho, wo)
    for i in range(ho):
        for j in range(wo):
            patch = x[:, :, i * s[0]:i * s[0] + k[0], j * s[1]:j * s[1] + k[1]]
            out[:, :, i, j] = torch.einsum("ncuv,ocuv->no", patch, weight[i % th, j % tw])
            if bias is not None:
                out[:, :, i, j] += bias[i % th, j % tw]
    return out


@pytest.mark.parametrize("k,s,p,bias,shape", [((3, 3), (1, 1), (0, 0), True, (2, 7, 6)),
                                              ((2, 3), (2, 1), (1, 2), False, (3, 8, 9))])
def test_locally_connected_matches_slow_loop(k, s, p, bias, shape) -> None:
    text = (f"name: l\ninput: {list(shape)}\nlayers:\n  - locally_connected2d: {{filters: 4, kernel: {list(k)}, "
            f"stride: {list(s)}, padding: {list(p)}, bias: {str(bias).lower()}}}\n")
    net = net_of(text)
    c, h, w = shape
    ho, wo = (h + 2 * p[0] - k[0]) // s[0] + 1, (w + 2 * p[1] - k[1]) // s[1] + 1
    assert net.nodes[0].out.shape == (4, ho, wo)
    assert net.params == ho * wo * 4 * (c * k[0] * k[1] + (1 if bias else 0))
    layer = compile_network(net).get_submodule(net.nodes[0].name)
    x = torch.randn(2, *shape)
    assert torch.allclose(layer(x), slow_local(x, layer.weight, layer.bias, k, s, p), atol=1e-5)


@pytest.mark.parametrize("tile,k,s,p,shape", [(2, (3, 3), (1, 1), (0, 0), (2, 7, 6)),
                                              ([1, 3], (3, 2), (1, 2), (1, 1), (2, 6, 9)),
                                              ([3, 2], (2, 2), (2, 2), (0, 1), (1, 9, 8))])
def test_tiled_conv_matches_slow_loop(tile, k, s, p, shape) -> None:
    text = (f"name: t\ninput: {list(shape)}\nlayers:\n  - tiled_conv2d: {{filters: 3, kernel: {list(k)}, "
            f"stride: {list(s)}, padding: {list(p)}, tile: {tile}}}\n")
    net = net_of(text)
    th, tw = (tile, tile) if isinstance(tile, int) else tile
    plain = 3 * shape[0] * k[0] * k[1] + 3  # a conv2d with the same window and bias
    assert net.params == th * tw * plain
    layer = compile_network(net).get_submodule(net.nodes[0].name)
    x = torch.randn(2, *shape)
    assert torch.allclose(layer(x), slow_tiled(x, layer.weight, layer.bias, k, s, p), atol=1e-5)


def test_tiled_conv_with_one_kernel_is_a_convolution() -> None:
    net = net_of("name: t\ninput: [2, 6, 6]\nlayers:\n  - tiled_conv2d: {filters: 3, kernel: 3, tile: 1, padding: 1}\n")
    layer = compile_network(net).get_submodule(net.nodes[0].name)
    x = torch.randn(2, 2, 6, 6)
    assert torch.allclose(layer(x), F.conv2d(x, layer.weight[0, 0], layer.bias[0, 0], padding=1), atol=1e-5)


def test_locally_connected_needs_a_fixed_size() -> None:
    with pytest.raises(ShapeError, match="fixed input size") as info:
        netspec.analyze("name: l\ninput: [1, H, 8]\nlayers:\n  - locally_connected2d: {filters: 2}\n")
    assert LOCATED.search(str(info.value))


# --- RBM and DBN -----------------------------------------------------------------------------------

def test_rbm_forward_free_energy_and_cd() -> None:
    net = net_of("name: r\ninput: [6]\nlayers:\n  - rbm: {hidden: 4}\n")
    assert net.params == 6 * 4 + 6 + 4
    rbm = compile_network(net).get_submodule(net.nodes[0].name)
    torch.nn.init.normal_(rbm.weight)
    torch.nn.init.normal_(rbm.h_bias)
    torch.nn.init.normal_(rbm.v_bias)
    v = torch.bernoulli(torch.full((3, 6), 0.5))
    assert torch.allclose(rbm(v), torch.sigmoid(v @ rbm.weight.T + rbm.h_bias))
    # Free energy against the definition F(v) = −log Σ_h exp(−E(v, h)), E = −v·b − h·c − hᵀWv.
    hs = torch.tensor([[(i >> j) & 1 for j in range(4)] for i in range(16)], dtype=torch.float32)
    energy = -(v @ rbm.v_bias)[:, None] - (hs @ rbm.h_bias)[None] - (v @ rbm.weight.T @ hs.T)
    assert torch.allclose(rbm.free_energy(v), -torch.logsumexp(-energy, dim=1), atol=1e-5)
    p, h = rbm.sample_h(v)
    assert h.shape == (3, 4) and set(h.unique().tolist()) <= {0.0, 1.0}
    assert rbm.sample_v(h)[1].shape == (3, 6)
    rbm.cd_loss(v, k=2).backward()
    assert rbm.weight.grad is not None and torch.isfinite(rbm.weight.grad).all()


def test_rbm_rejects_images_and_wrong_visible() -> None:
    with pytest.raises(ShapeError, match="flatten") as info:
        netspec.analyze("name: r\ninput: [1, 4, 4]\nlayers:\n  - rbm: 3\n")
    assert LOCATED.search(str(info.value))
    with pytest.raises(ShapeError, match="visible: 5"):
        netspec.analyze("name: r\ninput: [6]\nlayers:\n  - rbm: {hidden: 3, visible: 5}\n")


def test_dbn_is_a_stack_of_rbms() -> None:
    net = netspec.analyze(SPECS / "dbn.yaml").network()
    sizes = [784, 500, 500, 2000]
    assert net.params == sum(v * h + v + h for v, h in zip(sizes, sizes[1:]))


# --- recursive NN ----------------------------------------------------------------------------------

def test_recursive_over_a_tree_matches_a_manual_walk() -> None:
    text = ("name: r\ninputs:\n  leaves: [4, 3]\n  tree: {shape: [3, 2], dtype: long}\nlayers:\n"
            "  - recursive: {output: nodes}\n    from: [leaves, tree]\n")
    net = net_of(text)
    assert net.nodes[0].out.shape == (7, 3)
    assert net.params == 3 * 6 + 3
    cell = compile_network(net).get_submodule(net.nodes[0].name)
    leaves = torch.randn(2, 4, 3)
    # Sample 0: ((0 1) (2 3)); sample 1: (((0 1) 2) 3).
    tree = torch.tensor([[[0, 1], [2, 3], [4, 5]], [[0, 1], [4, 2], [5, 3]]])
    out = cell(leaves, tree)
    for n in range(2):
        nodes = list(leaves[n])
        for left, right in tree[n].tolist():
            nodes.append(torch.tanh(cell.weight @ torch.cat([nodes[left], nodes[right]]) + cell.bias))
        assert torch.allclose(out[n], torch.stack(nodes), atol=1e-6)


def test_recursive_rejects_a_tree_of_the_wrong_size() -> None:
    text = ("name: r\ninputs:\n  leaves: [4, 3]\n  tree: {shape: [4, 2], dtype: long}\nlayers:\n"
            "  - recursive: {}\n    from: [leaves, tree]\n")
    with pytest.raises(ShapeError, match="has 3 internal nodes") as info:
        netspec.analyze(text)
    assert LOCATED.search(str(info.value))
