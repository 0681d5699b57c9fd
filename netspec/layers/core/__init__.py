"""Dense, reshaping, dropout and activation layers."""

# The kind modules, in the order `netspec kinds` lists their kinds.
MODULES = (
    "dense", "flatten", "reshape", "dropout", "drop_path", "activation", "leaky_relu", "elu", "softmax", "log_softmax",
    "glu", "swiglu",
)
