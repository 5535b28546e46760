"""latentrw: train GANs and improve their samples after training."""

__version__ = "0.1.0"
