"""Synthetic data sets, generated from a seed (no download, no files): ``sine`` forecasting,
``logic`` truth tables, ``sentiment`` token classification, ``captions`` (vector → token sequence),
``trees`` for recursive nets, sequence ``reversal`` and ``parity``."""

from __future__ import annotations

import math
from typing import Sequence

import torch

from netspec.core.errors import DataError
from netspec.train.batching import TensorSet


def sine(samples: int, length: int, features: int, horizon: int, seed: int, out_len: int | None,
         out_features: int | None = None) -> TensorSet:
    """Sine waves with random frequency, phase and a little noise: (length, features) windows and the
    next ``horizon`` values (or, with ``out_len``, the sequence shifted by one step).

    With ``out_features`` (a sequence output whose width differs from the input's, e.g. a bare
    ``lstm`` with 128 units over 10 features), each sample has a few sine sources seen through two
    fixed random mixings: the input channels are one mixture, the targets the next step of the other
    (so the targets are predictable from the inputs; every channel stays within [-1, 1])."""
    g = torch.Generator().manual_seed(seed + 101)
    total = length + max(horizon, 1)
    t = torch.arange(total, dtype=torch.float32)
    mixed = out_features is not None and out_len is not None and out_features != features
    k = min(features, 3) if mixed else features
    freq = 0.1 + 0.4 * torch.rand(samples, 1, k, generator=g)
    phase = 2 * math.pi * torch.rand(samples, 1, k, generator=g)
    wave = torch.sin(freq * t[None, :, None] + phase)
    if mixed:
        def mixing(width: int) -> torch.Tensor:
            a = torch.randn(k, width, generator=g)
            return a / a.abs().sum(0, keepdim=True)
        a_in, a_out = mixing(features), mixing(int(out_features))  # type: ignore[arg-type]
        x = wave[:, :length] @ a_in
        x = x + 0.02 * torch.randn(x.shape, generator=g)
        return TensorSet(x.contiguous(), (wave[:, 1:length + 1] @ a_out).contiguous())
    wave = wave + 0.02 * torch.randn(wave.shape, generator=g)
    x = wave[:, :length]
    if out_len is not None:
        y = wave[:, 1:length + 1]
    else:
        y = wave[:, length:length + horizon].reshape(samples, -1)
    return TensorSet(x.contiguous(), y.contiguous())


def logic(samples: int, inputs: int, gates: Sequence[str], noise: float, seed: int) -> TensorSet:
    """Truth tables: every 0/1 combination of ``inputs`` bits, repeated to ``samples`` rows (shuffled),
    optionally with Gaussian noise on the inputs; one float 0/1 target per gate (``and`` of all the
    inputs, ``or``, ``xor`` (odd parity), ``nand``, ``nor``, ``xnor``, ``majority``)."""
    if inputs > 16:
        raise DataError(f"logic data enumerates the truth table of the inputs; {inputs} inputs are too many "
                        f"(at most 16)")
    g = torch.Generator().manual_seed(seed + 404)
    rows = 1 << inputs
    table = ((torch.arange(rows)[:, None] >> torch.arange(inputs - 1, -1, -1)[None, :]) & 1).float()
    idx = torch.arange(max(samples, rows)) % rows
    bits = table[idx[torch.randperm(len(idx), generator=g)]]
    ones = bits.sum(1)
    fns = {"and": ones == inputs, "or": ones > 0, "xor": ones % 2 == 1, "majority": ones > inputs / 2}
    fns.update({"nand": ~fns["and"], "nor": ~fns["or"], "xnor": ~fns["xor"]})
    y = torch.stack([fns[name] for name in gates], 1).float()
    x = bits + noise * torch.randn(bits.shape, generator=g) if noise else bits
    return TensorSet(x, y)


def sentiment(samples: int, length: int, vocab: int, seed: int, features: int | None = None) -> TensorSet:
    """Synthetic reviews: token ids (``length``,) of filler words with an odd number of marker words
    (ids 2..6 positive, 7..11 negative); the label is 1 when the positive markers outnumber the
    negative ones. With ``features`` the tokens are given as fixed random word vectors
    (``length``, ``features``) instead of ids (for float sequence inputs)."""
    if vocab < 16:
        raise DataError(f"the sentiment data needs a vocabulary of at least 16 (10 marker words and filler), "
                        f"got {vocab}\n    hint: give the embedding 'vocab: 16' or more, or use 'data: parity' "
                        "(bit sequences: any vocabulary of 2 or more)")
    g = torch.Generator().manual_seed(seed + 505)
    ids = torch.randint(12, vocab, (samples, length), generator=g)
    most = max(1, min(length, 7))
    count = 2 * torch.randint(0, (most + 1) // 2, (samples, 1), generator=g) + 1  # 1, 3, 5 or 7 markers
    marker = torch.rand(samples, length, generator=g).argsort(1) < count
    positive = torch.rand(samples, length, generator=g) < 0.5
    word = torch.randint(0, 5, (samples, length), generator=g)
    ids = torch.where(marker, torch.where(positive, 2 + word, 7 + word), ids)
    y = ((marker & positive).sum(1) > (marker & ~positive).sum(1)).long()
    if features is None:
        return TensorSet(ids, y)
    table = torch.randn(vocab, features, generator=g)
    return TensorSet(table[ids], y)


def captions(samples: int, features: int, length: int, vocab: int, seed: int, classes: int = 10) -> TensorSet:
    """Vector to sequence: feature vectors (``features``,) of ``classes`` kinds (a fixed random prototype
    per kind plus noise) and each kind's fixed "caption" of ``length`` token ids (2..vocab-1)."""
    if vocab < 3:
        raise DataError(f"the captions data needs at least 3 tokens per step, the network outputs {vocab}")
    g = torch.Generator().manual_seed(seed + 606)
    proto = torch.randn(classes, features, generator=g)
    words = torch.randint(2, vocab, (classes, length), generator=g)
    c = torch.randint(0, classes, (samples,), generator=g)
    x = proto[c] + 0.5 * torch.randn(samples, features, generator=g)
    return TensorSet(x, words[c])


def trees(samples: int, leaves: int, vocab: int, seed: int) -> TensorSet:
    """Synthetic parse trees for recursive nets: leaf token ids (``leaves``,), a random binary tree
    over them in word order ((leaves − 1, 2) child indices, children first, root last) and a 5-class
    label: (positive − negative marker words), clipped to −2..2, plus 2 (markers as in
    :func:`sentiment`)."""
    import random

    if leaves < 2:
        raise DataError(f"a tree needs at least 2 leaves, got {leaves}")
    if vocab < 16:
        raise DataError(f"the trees data needs a vocabulary of at least 16, got {vocab}")
    g = torch.Generator().manual_seed(seed + 707)
    words = torch.randint(12, vocab, (samples, leaves), generator=g)
    marker = torch.rand(samples, leaves, generator=g) < 0.3
    positive = torch.rand(samples, leaves, generator=g) < 0.5
    word = torch.randint(0, 5, (samples, leaves), generator=g)
    words = torch.where(marker, torch.where(positive, 2 + word, 7 + word), words)
    y = ((marker & positive).sum(1) - (marker & ~positive).sum(1)).clamp(-2, 2) + 2
    rng = random.Random(seed + 707)
    rows = []
    for _ in range(samples):
        frontier, nxt, tree = list(range(leaves)), leaves, []
        while len(frontier) > 1:
            i = rng.randrange(len(frontier) - 1)
            tree.append((frontier[i], frontier[i + 1]))
            frontier[i:i + 2] = [nxt]
            nxt += 1
        rows.append(tree)
    return TensorSet(words, torch.tensor(rows, dtype=torch.long), y.long())


def reversal(samples: int, length: int, vocab: int, seed: int) -> TensorSet:
    """Token sequences and their reversal. Ids: 0 = padding, 1 = start-of-sequence, 2.. = symbols."""
    if vocab < 4:
        raise DataError(f"sequence reversal needs a vocabulary of at least 4 (0 pad, 1 start, symbols), got {vocab}")
    g = torch.Generator().manual_seed(seed + 202)
    src = torch.randint(2, vocab, (samples, length), generator=g)
    return TensorSet(src, src.flip(1))


def parity(samples: int, length: int, seed: int) -> TensorSet:
    """Bit sequences (length, 1) and their parity (0/1): the classic hard case for plain RNNs."""
    g = torch.Generator().manual_seed(seed + 303)
    bits = torch.randint(0, 2, (samples, length), generator=g)
    return TensorSet(bits.float().unsqueeze(-1), bits.sum(1) % 2)
