"""Autoencoder models, one family per file."""

from .base import Model
from .denoising import DenoisingAutoencoder
from .mlp import MLPAutoencoder
