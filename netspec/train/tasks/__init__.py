"""The task families, one per file, listed here explicitly (no discovery by module name).

Importing this package registers every family (``@register_task`` in each file); :func:`make_task`
looks a name up among them. The names a spec may write are ``netspec.spec.train.TASKS`` (torch-free,
for the schema); registration refuses any other, and the tests check that every one is registered.
"""

from __future__ import annotations

import torch.nn as nn

from netspec.core.errors import UsageError, did_you_mean
from netspec.ir.graph import Graph
from netspec.spec.train import TrainConfig
from netspec.train.tasks.base import Task, infer_task, registered_tasks
from netspec.train.tasks.classification import Classification
from netspec.train.tasks.gan import GAN
from netspec.train.tasks.rbm import RBMTask
from netspec.train.tasks.reconstruction import VAE, Reconstruction
from netspec.train.tasks.regression import Regression
from netspec.train.tasks.seq2seq import Seq2Seq
from netspec.train.tasks.word2vec import Word2Vec

FAMILIES: tuple[type[Task], ...] = (Classification, Regression, Reconstruction, VAE, GAN, Seq2Seq, Word2Vec,
                                    RBMTask)


def task_names() -> list[str]:
    """Every registered task name, sorted."""
    return sorted(registered_tasks())


def make_task(cfg: TrainConfig, graph: Graph, nets: dict[str, nn.Module]) -> Task:
    """The task ``cfg`` names (``auto``: inferred from the networks), over ``nets``.

    Raises:
        UsageError: no task of that name, with close matches.
    """
    tasks = registered_tasks()
    name = cfg.task.name if cfg.task.name != "auto" else infer_task(graph)
    if name not in tasks:
        hint = did_you_mean(name, tasks)
        raise UsageError(f"unknown task '{name}'" + (f"; {hint}" if hint else "")
                         + f"; tasks: {', '.join(sorted(tasks))}")
    return tasks[name](name, cfg, graph, nets)
