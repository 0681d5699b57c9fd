"""Task families, one per file, registered by name (see :mod:`netspec.train.tasks.base`)."""

from netspec.train.tasks.base import Task, make_task, register_task, task_names

__all__ = ["Task", "make_task", "register_task", "task_names"]
