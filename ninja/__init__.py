"""backprop-ninja: check hand-written backprop against PyTorch autograd, line by line."""

__version__ = "0.1.0"
