"""The Python backend: a network as standalone, readable PyTorch source (``netspec export --format py``).

:mod:`~netspec.backends.torch.code.calls` records how each layer's module is constructed and copies the
source of the modules PyTorch lacks; :mod:`~netspec.backends.torch.code.source` lays out the classes (one
per block definition) and writes each ``forward`` from the graph IR. It imports torch only inside
functions.
"""
