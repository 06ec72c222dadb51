"""Autoencoder models, one family per file."""

from .base import Model
from .contractive import ContractiveAutoencoder
from .linear import PCA, LinearAutoencoder, principal_angle_cosines
from .mae import MAE
from .hashing import SemanticHashingAutoencoder
from .mlp import MLPAutoencoder
from .sparse import SparseAutoencoder
from .softmax import SoftmaxClassifier
from .stacked import StackedAutoencoder
from .vae import VAE, ConditionalVAE
from .conv import ConvAutoencoder, ConvVAE
from .energy import LatentEnergyAutoencoder
from .stochastic import GaussianDenoiser, VarianceNetworkVAE
from .psd import PSD
from .recirculation import RecirculationAutoencoder
from .vq import VQVAE, CodebookEMA
from .diffusion import DiffusionModel
from .diffusion_image import ImageDiffusionModel
