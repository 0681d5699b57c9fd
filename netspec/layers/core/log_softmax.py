from netspec.layers.base import register_layer
from netspec.layers.core.softmax import Softmax


@register_layer("log_softmax")
class LogSoftmax(Softmax):
    """Log of the softmax over ``axis``."""
