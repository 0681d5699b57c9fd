"""Sequence to sequence (encoder → decoder) with teacher forcing; sequence reversal by default.

The encoder's external input is the source ids; the decoder's external input is the target shifted
right (start token 1 first). With ``teacher_forcing`` < 1 a first pass without gradients predicts the
tokens, and each decoder input after the first is replaced by the prediction with probability
1 − teacher_forcing (parallel scheduled sampling). Token ids: 0 padding, 1 start, 2.. symbols.
"""

from __future__ import annotations

from typing import Any

import torch

from netspec.core.errors import DataError, UsageError
from netspec.ir.graph import NetGraph
from netspec.train import data as D
from netspec.train.batching import DataBundle, TensorSet
from netspec.train.synthetic import reversal
from netspec.train.tasks.base import (
    StepContext,
    Task,
    axis_note,
    first,
    loss_note,
    make_loss,
    output_meaning,
    register_task,
    run_networks,
    vocab_of,
)

START = 1


@register_task("seq2seq")
class Seq2Seq(Task):
    DEFAULT_DATA = "reversal"
    HAS_ACCURACY = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        external = [(net.name, i) for net in self.graph.networks.values()
                    for i, src in net.input_sources.items() if src is None]
        if len(self.graph.networks) < 2 or len(external) != 2:
            raise UsageError("task 'seq2seq' needs an encoder network (source ids) and a decoder network whose "
                             f"other inputs come from the encoder; external inputs found: {external}")
        (self.enc_name, self.src_name), (self.dec_name, self.tgt_name) = external
        self.src_type = self.graph.networks[self.enc_name].inputs[self.src_name]
        self.tgt_type = self.graph.networks[self.dec_name].inputs[self.tgt_name]

    def _vocab(self) -> int:
        widths = [v for n in self.graph.networks[self.enc_name].nodes if (v := vocab_of(n)) is not None]
        out = self.output_type.shape[-1]
        limit = min(widths + ([out] if isinstance(out, int) else []))
        v = self.cfg.data.vocab or min(limit, 32)
        if v > limit:
            raise DataError(f"data.vocab {v} is larger than the network's vocabulary {limit}")
        return v

    def load_data(self) -> DataBundle:
        cfg = self.cfg.data
        if self.data_name == "reversal":
            vocab = self._vocab()
            data = reversal(cfg.samples, cfg.length, vocab, self.cfg.seed)
            desc = f"sequence reversal ({cfg.samples} sequences of {cfg.length}, {vocab - 2} symbols)"
        elif self.data_name in ("npz", "pt"):
            data, desc = self._pairs(str(cfg.path)), str(cfg.path)
        else:
            raise DataError(f"task seq2seq takes data 'reversal' or an npz/pt file of (source, target) ids, "
                            f"not '{self.data_name}'")
        data = self._ids(data)
        meaning = output_meaning(self.graph.networks[self.dec_name])
        self.loss_name = self.cfg.loss if self.cfg.loss != "auto" else (
            "nll" if meaning == "log_distribution" else "nll_of_probs" if meaning == "distribution"
            else "cross_entropy")
        self.loss_fn = make_loss(self.loss_name)
        dec = self.graph.networks[self.dec_name]
        note = (loss_note(dec, self.loss_name) or axis_note(dec, self.loss_name)) if self.cfg.loss == "auto" else None
        if note:
            self.notes.append(note)
        train, val = self.held_out(data, lambda: self._ids(self._pairs(str(cfg.val_path))))
        return DataBundle(train, val, desc)

    @property
    def loss_net(self) -> NetGraph:
        return self.graph.networks[self.dec_name]

    def _pairs(self, path: str) -> TensorSet:
        """(source, target) ids of an npz/pt file."""
        x, y = D.load_file(path, targets_for=self.name)
        if y is None:  # load_file refuses a file without targets
            raise D.no_targets(path, "no targets", self.name)
        return TensorSet(x, y)

    def _ids(self, data: TensorSet) -> TensorSet:
        """Whole-valued floats become ids, fractions are refused (never truncated)."""
        return TensorSet(D.check_fit(data.tensors[0], self.src_type, self.src_name),
                         D.check_fit(data.tensors[1], self.tgt_type, self.tgt_name))

    def decode(self, src: torch.Tensor, dec_in: torch.Tensor) -> torch.Tensor:
        out = self._run(src, dec_in)
        return out

    def _run(self, src: torch.Tensor, dec_in: torch.Tensor) -> torch.Tensor:
        res = run_networks(self.nets, self.graph, {f"{self.enc_name}.{self.src_name}": src,
                                                   f"{self.dec_name}.{self.tgt_name}": dec_in})
        return first(res[self.dec_name])

    training = False

    def loss(self, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, dict[str, Any]]:
        src, tgt = batch[0], batch[1]
        dec_in = torch.cat([torch.full_like(tgt[:, :1], START), tgt[:, :-1]], 1)
        tf = self.cfg.task.teacher_forcing
        if self.training and tf < 1:
            with torch.no_grad():
                pred = self._run(src, dec_in).argmax(-1)
            use_pred = torch.rand(dec_in[:, 1:].shape, device=src.device) >= tf
            dec_in = torch.cat([dec_in[:, :1], torch.where(use_pred, pred[:, :-1], dec_in[:, 1:])], 1)
        out = self._run(src, dec_in).float()
        loss = self.loss_fn(out.reshape(-1, out.shape[-1]), tgt.reshape(-1))
        acc = (out.argmax(-1) == tgt).float().mean()
        return loss, {"accuracy": acc.detach()}

    def train_step(self, ctx: StepContext, batch: tuple[torch.Tensor, ...]) -> dict[str, Any]:
        self.training = True
        try:
            return super().train_step(ctx, batch)
        finally:
            self.training = False

    @torch.no_grad()
    def predict(self, src: torch.Tensor) -> torch.Tensor:
        """Greedy decoding: feed the start token, then each prediction, for as many steps as the source."""
        dec = torch.full((src.shape[0], 1), START, dtype=torch.long, device=src.device)
        for _ in range(src.shape[1]):
            nxt = self._run(src, dec)[:, -1].argmax(-1, keepdim=True)
            dec = torch.cat([dec, nxt], 1)
        return dec[:, 1:]

    def describe_prediction(self, out: torch.Tensor) -> list[str]:
        return [" ".join(str(int(t)) for t in row) for row in out.cpu()]
