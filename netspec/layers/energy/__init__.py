"""Restricted Boltzmann machine: the ``rbm`` layer (and, stacked, a deep belief network).

An RBM has visible units v, hidden units h, a weight matrix ``W (hidden, visible)``, a visible bias
``v_bias`` and a hidden bias ``h_bias``: ``H·V + V + H`` parameters. As a layer its forward gives the
hidden probabilities ``p(h = 1 | v) = σ(W v + h_bias)``, so a stack of RBMs is a deep belief network's
recognition pass. The torch module also offers what contrastive divergence needs (``sample_h``,
``sample_v``, ``gibbs``, ``free_energy``, ``cd_loss``); training itself belongs to the trainer.
"""

# The kind modules, in the order `netspec kinds` lists their kinds.
MODULES = ("rbm",)
