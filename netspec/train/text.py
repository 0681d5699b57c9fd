"""The ``text`` data for word2vec: the corpus shipped as ``netspec/data/corpus.txt``, its words,
vocabulary and training pairs."""

from __future__ import annotations

from pathlib import Path

import torch

from netspec.core.errors import DataError
from netspec.train.batching import TensorSet


def corpus_path() -> Path:
    return Path(__file__).resolve().parent.parent / "data" / "corpus.txt"


def tokenize(text: str) -> list[str]:
    import re

    return re.findall(r"[a-z]+(?:'[a-z]+)?", text.lower())


def vocabulary(words: list[str], size: int | None) -> list[str]:
    """Most frequent words first; index 0 is '<unk>' for everything else."""
    from collections import Counter

    counts = Counter(words)
    ranked = [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    if size is not None:
        ranked = ranked[:max(size - 1, 0)]
    return ["<unk>", *ranked]


def word_pairs(ids: torch.Tensor, window: int, mode: str) -> TensorSet:
    """word2vec training pairs. CBOW: (2·window context ids) -> centre id. Skip-gram: centre -> one
    context id, one pair per (centre, context) position."""
    n = len(ids)
    if n <= 2 * window:
        raise DataError(f"the text has {n} words; word2vec with window {window} needs more than {2 * window}")
    centres = torch.arange(window, n - window)
    offsets = torch.tensor([o for o in range(-window, window + 1) if o != 0])
    context = ids[centres[:, None] + offsets[None, :]]
    if mode == "cbow":
        return TensorSet(context, ids[centres])
    centre = ids[centres].repeat_interleave(len(offsets))
    return TensorSet(centre[:, None], context.reshape(-1))
