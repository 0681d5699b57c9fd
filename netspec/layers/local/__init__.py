"""Convolution variants without full weight sharing: locally connected (unshared) and tiled.

PyTorch has neither; both are built on ``torch.nn.functional.unfold`` (im2col) and one batched matrix
product, so they are exact and fast (tests compare them with a slow loop over positions).

- ``locally_connected2d``: a separate filter at every output position. Parameters
  ``H_out·W_out·C_out·(C_in·kh·kw + 1)`` with bias (Keras ``LocallyConnected2D``).
- ``tiled_conv2d``: a set of kernels rotated through as the window moves (Goodfellow et al., *Deep
  Learning* §9.6): output position (i, j) uses kernel ``(i mod th, j mod tw)``. With ``tile: [th, tw]``
  there are t = th·tw kernels and t times the parameters of a plain convolution; ``tile: [1, t]`` rotates
  t kernels along each row; ``tile: 1`` is an ordinary convolution.
"""

# The kind modules, in the order `netspec kinds` lists their kinds.
MODULES = ("locally_connected2d", "tiled_conv2d")
