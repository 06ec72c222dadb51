"""Autoencoder models, one family per file."""

from .base import Model
from .mlp import MLPAutoencoder

__all__ = ["Model", "MLPAutoencoder"]
