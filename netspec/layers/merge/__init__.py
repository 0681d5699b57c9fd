"""Merges of several inputs (add, subtract, multiply, concat) and their inverse, splits of one
input into several outputs (split, chunk)."""

# The kind modules, in the order `netspec kinds` lists their kinds.
MODULES = ("add", "multiply", "subtract", "concat", "split", "chunk")
