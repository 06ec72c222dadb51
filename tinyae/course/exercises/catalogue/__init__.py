"""The exercises, in course order, each with its known mistakes: one module
per exercise, ``exNN_slug.py``, beside its source ``sources/exNN_slug.py``.

For every exercise: the library's reference, the program that runs the
student's functions on one case, the random cases (float64 and float32,
ordinary and awkward shapes), the finite-difference check of the student's
backward against the student's own forward, the integration run (``base``),
and the catalogue of mistakes. A mistake's ``variant`` is a working
implementation of the mistake; its ``plant`` turns the solution source into
that mistake (``tests/test_exercises.py`` plants each one and checks it is
named).

``EXERCISES`` maps the exercise number to its ``Exercise``.
"""

from ..specs import Exercise
from .ex01_linear import LINEAR
from .ex02_activations import ACTIVATIONS
from .ex03_bce_logits import BCE
from .ex04_gradcheck import GRADCHECK
from .ex05_adam import ADAM_EXERCISE
from .ex06_corruption import CORRUPTION
from .ex07_contractive import CONTRACTIVE
from .ex08_kl_sparsity import KL_SPARSITY
from .ex09_reparam_kl import REPARAM
from .ex10_iw_bound import IW_BOUND
from .ex11_conv2d import CONV2D
from .ex12_max_pool import MAX_POOL
from .ex13_beta_vae_loss import BETA_VAE_LOSS
from .ex14_softmax_xent import SOFTMAX_XENT
from .ex15_blocked_matmul import BLOCKED_MATMUL
from .ex16_tsne_grad import TSNE_GRAD
from .ex17_huffman import HUFFMAN
from .ex18_fitted_gaussian import FITTED_GAUSSIAN
from .ex19_gaussian_nll import GAUSSIAN_NLL
from .ex20_ista import ISTA
from .ex21_vq import VQ
from .ex22_layernorm import LAYERNORM
from .ex23_noise_loss import NOISE_LOSS
from .ex24_topk import TOPK

#: Exercise number -> Exercise, in course order.
EXERCISES = {ex.number: ex for ex in (
    LINEAR, ACTIVATIONS, BCE, GRADCHECK, ADAM_EXERCISE, CORRUPTION, CONTRACTIVE,
    KL_SPARSITY, REPARAM, IW_BOUND, CONV2D, MAX_POOL, BETA_VAE_LOSS, SOFTMAX_XENT,
    BLOCKED_MATMUL, TSNE_GRAD, HUFFMAN, FITTED_GAUSSIAN, GAUSSIAN_NLL, ISTA, VQ,
    LAYERNORM, NOISE_LOSS, TOPK)}

__all__ = [
    "EXERCISES", "Exercise", "LINEAR", "ACTIVATIONS", "BCE", "GRADCHECK",
    "ADAM_EXERCISE", "CORRUPTION", "CONTRACTIVE", "KL_SPARSITY", "REPARAM", "IW_BOUND",
    "CONV2D", "MAX_POOL", "BETA_VAE_LOSS", "SOFTMAX_XENT", "BLOCKED_MATMUL",
    "TSNE_GRAD", "HUFFMAN", "FITTED_GAUSSIAN", "GAUSSIAN_NLL", "ISTA", "VQ",
    "LAYERNORM", "NOISE_LOSS", "TOPK"]
