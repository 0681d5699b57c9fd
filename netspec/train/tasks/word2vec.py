"""word2vec: CBOW (context ids → centre word) or skip-gram (centre id → a context word) pairs from text.

The default corpus is ``netspec/data/corpus.txt``; ``data: {name: text, path: my.txt}`` uses another.
The mode follows the input: (2·window,) ids is CBOW, (1,) is skip-gram. The loss is a full softmax
cross-entropy over the vocabulary (the notes' formulation; fine for small vocabularies). After
training, ``neighbours.txt`` in the run directory lists each frequent word's nearest words by the
cosine similarity of the learnt input embeddings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from netspec.core.errors import DataError, UsageError
from netspec.train.batching import DataBundle
from netspec.train.runtime import write_text_atomic
from netspec.train.tasks.base import StepContext, Task, embedding_vocab, make_loss, register_task
from netspec.train.text import corpus_path, tokenize, vocabulary, word_pairs


@register_task("word2vec")
class Word2Vec(Task):
    DEFAULT_DATA = "text"
    HAS_ACCURACY = False

    def load_data(self) -> DataBundle:
        cfg = self.cfg.data
        want = self.input_type
        if want.dtype != "long" or len(want.shape) != 1 or not isinstance(want.shape[0], int):
            raise DataError(f"word2vec takes word ids: the input '{self.input_name}' must be "
                            f"{{shape: [k], dtype: long}}, got {want.shape} {want.dtype}")
        k = int(want.shape[0])
        mode = self.cfg.task.mode if self.cfg.task.mode != "auto" else ("cbow" if k > 1 else "skipgram")
        window = k // 2 if mode == "cbow" else cfg.window
        if mode == "cbow" and k != 2 * window:
            raise DataError(f"CBOW takes 2·window context ids; the input has {k}")
        if mode == "cbow" and "window" in cfg.model_fields_set and cfg.window != window:
            raise DataError(f"data.window is {cfg.window} but the CBOW input takes {k} context ids (window {window})")
        if mode == "skipgram" and k != 1:
            raise DataError(f"skip-gram takes one centre id: input shape [1], got [{k}]")
        if self.data_name not in ("text", "auto"):
            raise DataError(f"word2vec reads text: data 'text' (optionally with a path), not '{self.data_name}'")
        path = Path(cfg.path) if cfg.path else corpus_path()
        if not path.is_file():
            if not path.exists():
                raise UsageError(f"text corpus {path} does not exist")
            raise DataError(f"text corpus {path} is not a file")
        try:
            words = tokenize(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise DataError(f"text corpus {path} is not UTF-8 text") from None
        except OSError as exc:
            raise DataError(f"text corpus {path} cannot be read ({type(exc).__name__})") from None
        out_width = self.output_type.shape[-1]
        limit = min(self.cfg.data.vocab or 1 << 30, out_width if isinstance(out_width, int) else 1 << 30,
                    embedding_vocab(self.first_net) or 1 << 30)
        vocab = vocabulary(words, limit)
        index = {w: i for i, w in enumerate(vocab)}
        ids = torch.tensor([index.get(w, 0) for w in words], dtype=torch.long)
        data = word_pairs(ids, window, mode)
        self.vocab, self.mode, self.window = vocab, mode, window
        self.loss_name = "cross_entropy" if self.cfg.loss == "auto" else self.cfg.loss
        self.loss_fn = make_loss(self.loss_name)
        train, val = self.held_out(data, None)  # one corpus: validation pairs are a share of it
        return DataBundle(train, val, f"{path.name} ({len(words)} words, vocabulary {len(vocab)}, {mode}, "
                                        f"window {window})", info={"vocab": vocab})

    def loss(self, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, dict[str, Any]]:
        x, y = batch[0], batch[1]
        out = self.forward(x).float()
        return self.loss_fn(out, y), {}

    def embeddings(self) -> torch.Tensor | None:
        for m in self.raw_nets[self.first_net.name].modules():
            if isinstance(m, nn.Embedding):
                return m.weight.detach()
        return None

    def neighbours(self, words: list[str] | None = None, k: int = 5) -> list[str]:
        emb = self.embeddings()
        if emb is None:
            return []
        emb = emb[:len(self.vocab)].float()
        unit = emb / emb.norm(dim=1, keepdim=True).clamp_min(1e-8)
        index = {w: i for i, w in enumerate(self.vocab)}
        words = words or [w for w in self.vocab[1:80] if len(w) > 3][:20]  # frequent content words
        lines = []
        for w in words:
            if w not in index:
                lines.append(f"{w}: (not in the vocabulary)")
                continue
            sims = unit @ unit[index[w]]
            sims[index[w]] = -2
            sims[0] = -2
            top = sims.topk(min(k, len(self.vocab) - 2))
            lines.append(f"{w}: " + ", ".join(f"{self.vocab[int(i)]} {float(s):.2f}"
                                              for s, i in zip(top.values, top.indices)))
        return lines

    def write_artifacts(self, ctx: StepContext, out_dir: Path) -> None:
        write_text_atomic(out_dir / "neighbours.txt", "\n".join(self.neighbours()) + "\n")

    def parse_input(self, text: str) -> torch.Tensor | None:
        """``predict`` takes words: 'king' (skip-gram) or 'the king the castle' (CBOW context)."""
        index = {w: i for i, w in enumerate(self.vocab)}
        words = tokenize(text)
        if not words or not all(w in index for w in words):
            return None
        need = int(self.input_type.shape[0])
        if len(words) != need:
            raise DataError(f"'{text}': the {self.mode} input takes {need} word(s), got {len(words)}")
        return torch.tensor([[index[w] for w in words]])

    def describe_prediction(self, out: torch.Tensor) -> list[str]:
        lines = []
        for row in out.float().softmax(-1).cpu():
            top = row[:len(self.vocab)].topk(5)
            lines.append(", ".join(f"{self.vocab[int(i)]} {float(p):.1%}" for p, i in zip(top.values, top.indices)))
        return lines

