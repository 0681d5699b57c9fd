"""Average pools in, from torch and from ONNX: ``count_include_pad`` is accepted exactly where it changes
nothing (no padding: every window, ceil_mode's last one hanging over the edge too, is divided by its cells
inside the input either way), refused where it does, and a ``divisor_override`` is refused in its own words.
Which outputs are equal is asked of torch and onnxruntime at run time, never of netspec."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from import_support import kinds_in, same_function, sample

from netspec.interop.importer import NotImportable, import_model


class Around(nn.Module):
    """``pool`` after a convolution (1-D, 2-D or 3-D as ``conv``), then a 1×1 convolution."""

    def __init__(self, pool: nn.Module, conv: type = nn.Conv2d) -> None:
        super().__init__()
        self.pre = conv(3, 4, 3, padding=1)
        self.pool = pool
        self.post = conv(4, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.post(self.pool(torch.relu(self.pre(x))))


class Functional(nn.Module):
    """The same with the pool a call: ``F.avg_pool2d``/``F.avg_pool3d`` with ``kwargs``."""

    def __init__(self, fn: object, conv: type, **kwargs: object) -> None:
        super().__init__()
        self.pre, self.post, self.fn, self.kwargs = conv(3, 4, 3, padding=1), conv(4, 2, 1), fn, kwargs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.post(self.fn(torch.relu(self.pre(x)), **self.kwargs))




# sizes the kernel does not divide, so ceil_mode makes a last window that hangs over the edge
NO_PADDING = [
    (Around(nn.AvgPool2d(2, ceil_mode=True, count_include_pad=False)), [3, 5, 7], "avg_pool2d"),  # the review's
    (Around(nn.AvgPool2d(3, stride=2, ceil_mode=True, count_include_pad=False)), [3, 6, 8], "avg_pool2d"),
    (Around(nn.AvgPool2d(2, count_include_pad=False)), [3, 6, 6], "avg_pool2d"),
    (Around(nn.AvgPool1d(3, stride=2, ceil_mode=True, count_include_pad=False), conv=nn.Conv1d), [3, 8], "avg_pool1d"),
    (Around(nn.AvgPool3d(2, ceil_mode=True, count_include_pad=False), conv=nn.Conv3d), [3, 3, 5, 5], "avg_pool3d"),
    (Functional(F.avg_pool2d, nn.Conv2d, kernel_size=2, ceil_mode=True, count_include_pad=False), [3, 5, 7],
     "avg_pool2d"),
    (Functional(F.avg_pool3d, nn.Conv3d, kernel_size=2, ceil_mode=True, count_include_pad=False), [3, 3, 5, 5],
     "avg_pool3d"),
    (Functional(F.max_pool3d, nn.Conv3d, kernel_size=2, stride=1, padding=1), [3, 3, 5, 5], "max_pool3d"),  # sibling
]


@pytest.mark.parametrize("model, shape, kind", NO_PADDING, ids=[f"{k}-{i}" for i, (_, _, k) in enumerate(NO_PADDING)])
def test_count_include_pad_false_without_padding_imports_as_the_plain_pool(model, shape, kind):
    pool = model.pool if isinstance(model, Around) else None
    if pool is not None:  # torch itself: with no padding, count_include_pad changes nothing on this input
        x = torch.randn(1, 4, *shape[1:])
        other = type(pool)(pool.kernel_size, pool.stride, pool.padding, pool.ceil_mode, count_include_pad=True)
        assert torch.equal(pool(x), other(x))
    done = import_model(model, shape, name="m")
    assert kind in kinds_in(done.spec["layers"])
    same_function(done.text, model, sample(shape))


@pytest.mark.parametrize("model, shape", [
    (Around(nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)), [3, 6, 6]),
    (Around(nn.AvgPool2d(2, padding=(0, 1), ceil_mode=True, count_include_pad=False)), [3, 5, 7]),
    (Around(nn.AvgPool1d(3, padding=1, count_include_pad=False), conv=nn.Conv1d), [3, 8]),
    (Around(nn.AvgPool3d(3, padding=1, count_include_pad=False), conv=nn.Conv3d), [3, 4, 5, 5]),
])
def test_count_include_pad_false_with_padding_is_refused_saying_why(model, shape):
    pool = model.pool  # torch itself: with padding, the two counts give other numbers at the edges
    x = torch.rand(1, 4, *shape[1:]) + 1
    other = type(pool)(pool.kernel_size, pool.stride, pool.padding, pool.ceil_mode, count_include_pad=True)
    assert not torch.allclose(pool(x), other(x))
    with pytest.raises(NotImportable, match="padding that leaves the padding out of the count"):
        import_model(model, shape, name="m")


class GlobalByHand(nn.Module):
    """An average over the whole map written as a window of the map's size, with a divisor of its own."""

    def __init__(self) -> None:
        super().__init__()
        self.pre = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.pre(x)
        return F.avg_pool2d(y, y.size(2), divisor_override=5).flatten(1)


@pytest.mark.parametrize("model", [Around(nn.AvgPool2d(2, divisor_override=3)), GlobalByHand()])
def test_a_divisor_override_is_refused_in_its_own_words(model):
    with pytest.raises(NotImportable, match="divisor_override"):
        import_model(model, [3, 6, 6], name="m")
