"""Interop: netspec's networks out to other formats (Python source, ONNX, ``torch.export``) and PyTorch
models in, as specs. The stage after ``api``: it chains the public functions and the backends."""
