"""Training: ``netspec build`` compiles a spec and trains it.

``config`` (the validated ``train:`` section) is torch-free: ``netspec check`` imports it. Everything
else (data, loop, tasks) imports torch and is loaded only by ``build``/``eval``/``predict``.
"""

from __future__ import annotations

from typing import Any

from netspec.spec.train import TrainConfig

__all__ = ["TrainConfig", "train", "evaluate", "predict"]


def __getattr__(name: str) -> Any:  # lazy: importing netspec.train must not import torch
    if name in ("train", "evaluate", "predict"):
        from netspec.train import api

        return getattr(api, name)
    raise AttributeError(name)
