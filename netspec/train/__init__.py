"""Training: ``netspec build`` compiles a spec and trains it.

The recipe (the validated ``train:`` section) is :mod:`netspec.spec.train`, torch-free: ``netspec
check`` imports it. The modules here import torch and are loaded only by ``build``/``eval``/``predict``:
:mod:`netspec.train.api` holds the entry points (``train``, ``dry_run``, ``evaluate``, ``predict``).

Importing this package, before torch is loaded, shortens OpenMP's spinning at barriers
(:func:`netspec.train.threads.limit_openmp_spinning`): unless ``GOMP_SPINCOUNT`` or ``OMP_WAIT_POLICY``
is set, torch's threads then sleep soon instead of burning cores another process needs.
"""

from netspec.train.threads import limit_openmp_spinning

limit_openmp_spinning()
