"""Chooses, for every op, the NumPy reference or its Numba twin.

This is the only module that knows both exist. Layers, losses and models call
``ops.<name>(...)``; which implementation answers is decided here:

* ``set_backend("numpy")`` or ``set_backend("numba")`` at run time, or
* the environment variable ``TINYAE_BACKEND`` (read once, at the first op
  or ``get_backend()`` call).

The default is ``"numba"``: the fast twin. ``"numpy"`` runs the readable
reference in ``tinyae.functional``. Both give the same numbers (to 1e-12
relative in float64; the test suite checks every op).

    >>> from tinyae import backend
    >>> with backend.use("numpy"):
    ...     out, cache = backend.ops.sigmoid_forward(x)
"""

import contextlib
import importlib
import os

#: Every op a backend must provide (same name, signature and cache in both),
#: by family: ``tinyae.functional.<family>`` holds the references and
#: ``tinyae.kernels.<family>`` their twins. A new family is one row.
OP_FAMILIES = {
    "dense": (
        "linear_forward", "linear_backward",
        "sigmoid_forward", "sigmoid_backward",
        "tanh_forward", "tanh_backward",
        "relu_forward", "relu_backward",
        "softplus_forward", "softplus_backward",
        "identity_forward", "identity_backward",
        "topk_forward", "topk_backward",
        "mse_loss", "bce_with_logits_loss", "gaussian_nll_loss",
        # fused ops of the training step
        "linear_act_forward", "linear_act_backward", "adam_update",
        "contractive_penalty", "kl_sparsity",
        "reparameterize_kl", "reparameterize_kl_backward",
        "gaussian_corrupt", "masking_corrupt",
    ),
    "conv": (
        "conv2d_forward", "conv2d_backward", "conv2d_act_forward", "conv2d_act_backward",
        "conv_transpose2d_forward", "conv_transpose2d_backward",
        # the same in channel-major (C, N, H, W) layout (layers.Sequential's chains)
        "conv2d_cnhw_forward", "conv2d_cnhw_backward",
        "conv2d_act_cnhw_forward", "conv2d_act_cnhw_backward",
        "conv_transpose2d_cnhw_forward", "conv_transpose2d_cnhw_backward",
        "max_pool2d_forward", "max_pool2d_backward",
        "max_pool2d_act_forward", "max_pool2d_act_backward",
        "avg_pool2d_forward", "avg_pool2d_backward",
        "upsample_nearest2d_forward", "upsample_nearest2d_backward",
        "upsample_bilinear2d_forward", "upsample_bilinear2d_backward",
    ),
    "transformer": (
        "patchify", "unpatchify", "gather_tokens", "scatter_tokens",
        "layernorm_forward", "layernorm_backward", "gelu_forward", "gelu_backward",
        "softmax_forward", "softmax_backward", "attention_forward", "attention_backward",
        "multihead_attention_forward", "multihead_attention_backward", "masked_mse_loss",
        # the attention sublayer on token-major (T, N, D) tokens (the MAE's blocks)
        "multihead_attention_tm_forward", "multihead_attention_tm_backward",
    ),
    "tsne": ("tsne_conditional_p", "tsne_knn_conditional_p", "tsne_kl_grad"),
    "tsne_bh": ("tsne_quadtree", "tsne_bh_kl_grad"),
    "neighbours": ("smallest_k", "rank_in_row"),
    "hashing": ("pack_bits", "hamming_distance", "hamming_rank"),
    "sparse_coding": ("soft_threshold_forward", "soft_threshold_backward",
                      "ista_step_forward", "ista_step_backward"),
    "vq": ("vq_nearest", "vq_code_stats"),
}

#: Every op name, in family order.
OP_NAMES = tuple(op for family in OP_FAMILIES.values() for op in family)

#: Backend name -> module that implements OP_NAMES.
BACKENDS = {"numpy": "tinyae.functional", "numba": "tinyae.kernels"}

ENV_VAR = "TINYAE_BACKEND"
_DEFAULT = "numba"
_current = None
_current_module = None


def _resolve(name):
    if name not in BACKENDS:
        raise ValueError(
            f"backend must be one of {sorted(BACKENDS)}, got {name!r}")
    return name


def set_backend(name):
    """Route every op through backend ``name`` ("numpy" or "numba")."""
    global _current, _current_module
    _current_module = importlib.import_module(BACKENDS[_resolve(name)])
    _current = name


def get_backend():
    """Name of the backend in use."""
    if _current is None:
        env = os.environ.get(ENV_VAR, _DEFAULT)
        try:
            set_backend(env)
        except ValueError:
            raise ValueError(
                f"environment variable {ENV_VAR} must be one of "
                f"{sorted(BACKENDS)}, got {env!r}") from None
    return _current


def module(name=None):
    """The module implementing backend ``name`` (default: the current one)."""
    return importlib.import_module(BACKENDS[_resolve(name or get_backend())])


@contextlib.contextmanager
def use(name):
    """Context manager: run a block with backend ``name``, then restore."""
    previous = get_backend()
    set_backend(name)
    try:
        yield
    finally:
        set_backend(previous)


class _Ops:
    """``ops.linear_forward`` is the current backend's ``linear_forward``."""

    def __getattr__(self, op):
        if _current_module is None:
            get_backend()
        return getattr(_current_module, op)

    def __dir__(self):
        return list(OP_NAMES)


ops = _Ops()
