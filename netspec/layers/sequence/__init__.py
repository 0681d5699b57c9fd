"""Sequence plumbing: embedding, permute, repeat_vector, sequence_pool, time_distributed.

Convention: recurrent layers read ``(T, F)`` (time first), while ``conv1d`` and the 1-D pools read
``(C, L)`` (channels first, as PyTorch). ``permute: [1, 0]`` converts between the two, so a spec can
downsample a long sequence with conv1d and feed the result to an LSTM.
"""

# The kind modules, in the order `netspec kinds` lists their kinds.
MODULES = ("embedding", "permute", "repeat_vector", "sequence_pool", "time_distributed")
