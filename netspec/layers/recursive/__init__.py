"""Recursive neural network: one cell applied over a binary tree (Socher et al. 2011).

Tree encoding (per sample, given with the input):

- ``leaves (L, F)``: the leaf vectors (e.g. word embeddings), nodes 0 … L−1;
- ``tree (L − 1, 2)``, long: row i holds the (left, right) child indices of internal node L + i.
  A child index must be smaller than L + i (children before parents, bottom-up order); the last row is
  the root. A node may be used as a child at most once for a proper tree (not checked).

Each internal node is ``p = tanh(W·[h_left; h_right] + b)`` with ``W (F, 2F)``, ``b (F,)``, shared by
all nodes. The output is the root vector ``(F,)`` or, with ``output: nodes``, every node
``(2L − 1, F)`` (leaves first). Written ``- recursive: {from: [leaves, tree]}``.
"""

# The kind modules, in the order `netspec kinds` lists their kinds.
MODULES = ("recursive",)
