"""Training: ``netspec build`` compiles a spec and trains it.

The recipe (the validated ``train:`` section) is :mod:`netspec.spec.train`, torch-free: ``netspec
check`` imports it. The modules here import torch and are loaded only by ``build``/``eval``/``predict``:
:mod:`netspec.train.api` holds the entry points (``train``, ``dry_run``, ``evaluate``, ``predict``).
"""
