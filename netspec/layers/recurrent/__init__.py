"""Recurrent layers: ``rnn`` (tanh or relu), ``lstm``, ``gru``.

Sequences are ``(T, F)`` per sample (time first, features last; batch-first ``(N, T, F)`` in torch);
``T`` may be symbolic. Parameters follow PyTorch: per layer and direction
``G·H·(I + H) + 2·G·H`` (G = 1, 3, 4 gate groups for RNN, GRU, LSTM; two bias vectors per gate group;
the first layer reads I = F, later layers I = D·H with D = 2 when bidirectional). Keras keeps one bias
vector for SimpleRNN and LSTM, so its counts are lower by ``G·H`` per layer and direction
(docs/recurrent.md works the notes' example).

Initial state (encoder → decoder): extra inputs after the sequence, ``from: [x, enc:h]`` (RNN, GRU)
or ``from: [x, enc:h, enc:c]`` (LSTM; ``c`` may be left out and starts at zero). A state is
``(layers·directions, units)`` per sample, which is also what ``return_state`` outputs as ``h`` and
``c``; a vector ``(units,)`` is accepted when layers·directions is 1 (e.g. a dense projection of an
image feature vector).

MACs are the matrix products of every step, ``T · Σ_layers D·G·H·(I + H)`` (what
``torch.utils.flop_counter`` counts); with a symbolic ``T`` they are reported per time step.
"""

# The kind modules, in the order `netspec kinds` lists their kinds.
MODULES = ("rnn", "gru", "lstm")
