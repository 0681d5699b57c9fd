"""A layer's ``init:`` applied to its built module, through the table in :mod:`netspec.layers.init`."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from netspec.layers.init import INIT_SCHEMES, InitSpec, init_items


def apply_scheme(t: torch.Tensor, scheme: str | InitSpec) -> None:
    """Initialise one tensor in place; fan-based schemes zero a vector (a bias), which has no fan."""
    spec = scheme if isinstance(scheme, InitSpec) else InitSpec(scheme=scheme)
    entry = INIT_SCHEMES[spec.scheme]
    if entry.torch_fn is None:
        return
    if entry.fan_based and t.dim() < 2:
        nn.init.zeros_(t)
        return
    kwargs: dict[str, Any] = dict(entry.kwargs)
    if isinstance(scheme, InitSpec):  # a bare name keeps torch's defaults
        kwargs.update({kw: getattr(spec, field) for field, kw in entry.args.items()})
    getattr(nn.init, entry.torch_fn)(t, **kwargs)


@torch.no_grad()
def initialise(module: nn.Module, init: Any) -> None:
    """Apply ``init`` (a scheme for every parameter, or ``{param: scheme | number | nested list}``)."""
    params = dict(module.named_parameters())
    for pname, value in init_items(init, params):
        p = params[pname]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            p.fill_(float(value))
        elif isinstance(value, list):
            p.copy_(torch.tensor(value, dtype=p.dtype))
        else:
            apply_scheme(p, value)
