"""Layers of the latent-code lessons: ``AngleEmbedding`` (a circular
latent, energy models), ``Gain`` and ``UnitNormDictionary`` (sparse coding),
``VectorQuantizer`` and ``CODEBOOK_INITS`` (the VQ-VAE).

Their ops: the quantiser's in ``tinyae/functional/vq.py``; the sparse-coding
ops that PSD runs beside ``Gain`` and ``UnitNormDictionary`` (soft-threshold,
ISTA step) in ``tinyae/functional/sparse_coding.py``. The dictionary's
product is ``functional.linear_*``; the angle map and the gain are written
out here, their gradients in the docstrings.
"""

import numpy as np

from .._validation import check_choice, check_dtype, check_positive_int, check_rng
from ..backend import ops
from ..functional import vq as functional_vq
from .base import Layer, _rows


# --------------------------------------------------------------------------
# Energy-based latent models (lesson 15): a circular latent
# --------------------------------------------------------------------------

class AngleEmbedding(Layer):
    """A latent read as angles: ``out = [cos z, sin z]``.

    z: (..., k) -> out: (..., 2k) (the k cosines, then the k sines), so a
    decoder that starts with this layer is 2 pi-periodic in every latent,
    like the course's ellipse decoder g(z) = [w1 cos z, w2 sin z]. Backward,
    with dout = (dc, ds) split the same way:

        dz = -sin z * dc + cos z * ds.
    """

    def forward(self, x):
        self._check_input(x, min_ndim=2)
        c, s = np.cos(x), np.sin(x)
        self.cache = (c, s)
        return np.concatenate([c, s], axis=-1)

    def backward(self, dout, need_dx=True):
        c, s = self.cache
        k = c.shape[-1]
        return -s * dout[..., :k] + c * dout[..., k:]

    def __repr__(self):
        return "AngleEmbedding()"


# --------------------------------------------------------------------------
# Sparse coding (lesson 16): a per-unit gain and a dictionary of unit atoms
# --------------------------------------------------------------------------

class Gain(Layer):
    """Per-feature gain ``out = x * g`` on the last axis (PSD's diagonal G).

    x: (..., n) -> out: (..., n); g: (n,), initialised to ``init_value``.
    Backward: ``dx = dout * g``, ``dg = sum over all leading axes of dout * x``.
    """

    def __init__(self, n, *, init_value=1.0, dtype=np.float64):
        super().__init__()
        self.n = check_positive_int(n, "n")
        self.dtype = check_dtype(dtype)
        self._add_param("g", np.full(self.n, init_value, dtype=self.dtype))

    def forward(self, x):
        self._check_input(x, min_ndim=2, last=self.n, dtype=self.dtype)
        self.cache = x
        return x * self.params["g"]

    def backward(self, dout, need_dx=True):
        x = self.cache
        self.grads["g"] += _rows(dout * x).sum(axis=0)
        return dout * self.params["g"] if need_dx else None

    def __repr__(self):
        return f"Gain({self.n})"


class UnitNormDictionary(Layer):
    """Linear synthesis from a code with unit-norm atoms: ``out = z D``.

    z: (N, n_atoms) -> out: (N, n_out). The parameter is V: (n_atoms,
    n_out) and the atoms are its rows normalised, ``D_k = V_k / ||V_k||``:
    sparse coding's energy could otherwise shrink lam ||z||_1 for free by
    scaling z down and D up. Normalising inside the layer (instead of
    projecting after each optimiser step) keeps it an ordinary
    differentiable layer. With r_k = ||V_k||, the gradient through the
    normalisation removes the radial part of dD,

        dV_k = (dD_k - D_k (dD_k . D_k)) / r_k,      dD = z^T dout,

    and ``dz = dout D^T``.
    """

    def __init__(self, n_atoms, n_out, *, rng, dtype=np.float64):
        super().__init__()
        self.n_atoms = check_positive_int(n_atoms, "n_atoms")
        self.n_out = check_positive_int(n_out, "n_out")
        check_rng(rng)
        self.dtype = check_dtype(dtype)
        self._add_param("V", rng.standard_normal((self.n_atoms, self.n_out)).astype(self.dtype))

    @property
    def D(self):
        """The atoms: (n_atoms, n_out), each row of unit length."""
        V = self.params["V"]
        return V / np.sqrt(np.sum(V * V, axis=1, keepdims=True))

    def forward(self, z):
        self._check_input(z, ndim=2, last=self.n_atoms, dtype=self.dtype)
        D = self.D
        out, cache = ops.linear_forward(z, D, np.zeros(self.n_out, self.dtype))
        self.cache = cache
        return out

    def backward(self, dout, need_dx=True):
        dz, dD, _ = ops.linear_backward(dout, self.cache, need_dx)
        D = self.cache[1]
        V = self.params["V"]
        r = np.sqrt(np.sum(V * V, axis=1, keepdims=True))              # (n_atoms, 1)
        self.grads["V"] += (dD - D * np.sum(dD * D, axis=1, keepdims=True)) / r
        return dz

    def __repr__(self):
        return f"UnitNormDictionary({self.n_atoms}, {self.n_out})"


# --------------------------------------------------------------------------
# Vector quantisation (lesson 17): a codebook and the straight-through map
# --------------------------------------------------------------------------

#: Codebook initialisers: name -> fn(shape, rng). "uniform": U(-1/K, 1/K)
#: (the common default: every code starts near the origin); "normal":
#: N(0, 1) (codes far from small encoder outputs: the careless start under
#: which most codes are never chosen).
CODEBOOK_INITS = {
    "uniform": lambda shape, rng: rng.uniform(-1.0 / shape[0], 1.0 / shape[0], shape),
    "normal": lambda shape, rng: rng.standard_normal(shape),
}


class VectorQuantizer(Layer):
    """Nearest-code quantisation with the straight-through estimator.

    z_e: (..., D) -> z_q: (..., D), each D-vector replaced by its nearest
    row of the codebook e: (n_codes, D) (``ops.vq_nearest``); backward
    copies dout to dz_e unchanged (``functional.vq_straight_through_*``).
    ``indices``: the chosen codes of the last forward, shape z_e.shape[:-1].

    ``learned=True``: the codebook is a parameter (``params["codebook"]``)
    moved by the codebook loss through ``losses``; ``learned=False``: it is
    state moved by ``ema_update`` (cluster sizes start at 1 and cluster sums
    at the initial codes, so an unused code stays where it is).
    """

    def __init__(self, n_codes, dim, *, rng, init="uniform", learned=True, dtype=np.float64):
        super().__init__()
        self.n_codes = check_positive_int(n_codes, "n_codes")
        self.dim = check_positive_int(dim, "dim")
        check_rng(rng)
        self.init = check_choice(init, "init", CODEBOOK_INITS)
        self.learned = bool(learned)
        self.dtype = check_dtype(dtype)
        self.codebook = CODEBOOK_INITS[init]((self.n_codes, self.dim), rng).astype(self.dtype)
        if self.learned:
            self._add_param("codebook", self.codebook)
        else:                      # moved by ema_update in place: state to save
            self._add_buffer("codebook", self.codebook)
            self.cluster_size = self._add_buffer("cluster_size",
                                                 np.ones(self.n_codes, self.dtype))
            self.cluster_sum = self._add_buffer("cluster_sum", self.codebook.copy())
        self.indices = None

    def forward(self, z_e, frozen=None):
        """z_e: (..., D) -> z_q. ``frozen = (idx, z_e_sg, z_q_sg)`` replaces
        the search and the stop-gradient values by given constants (flat
        (M,), (M, D), (M, D)): a gradient check's fixed quantisation."""
        self._check_input(z_e, min_ndim=2, last=self.dim, dtype=self.dtype)
        rows = z_e.reshape(-1, self.dim)                       # (M, D), M = prod(lead)
        if frozen is None:
            idx, _ = ops.vq_nearest(rows, self.codebook)
            z_e_sg, z_q_sg = rows.copy(), self.codebook[idx]
        else:
            idx, z_e_sg, z_q_sg = frozen
        out, _ = functional_vq.vq_straight_through_forward(rows, z_e_sg, z_q_sg)
        self.cache = (rows, z_e_sg, z_q_sg, idx, z_e.shape)
        self.indices = idx.reshape(z_e.shape[:-1])
        return out.reshape(z_e.shape)

    def backward(self, dout, need_dx=True):
        """Straight through: dz_e = dout (the codebook loss adds its own)."""
        return functional_vq.vq_straight_through_backward(dout, None)

    def losses(self, beta, n, grad=True):
        """Codebook and commitment losses of the last forward
        (``functional.vq_losses``), each a sum over vectors divided by the
        batch size n. With ``grad``, adds the codebook's gradient into grads
        (if learned). Returns (codebook_loss, commitment_loss, dz_e: z_e's
        shape)."""
        rows, z_e_sg, z_q_sg, idx, shape = self.cache
        C, B, dz_e, dcodebook = functional_vq.vq_losses(rows, z_q_sg, z_e_sg, self.codebook,
                                                        idx, beta, n)
        if grad and self.learned:
            self.grads["codebook"] += dcodebook
        return C, B, dz_e.reshape(shape)

    def ema_update(self, decay, eps=1e-5):
        """Move the codes to the running means of their last batch's vectors
        (``functional.vq_ema_update``); needs ``learned=False``."""
        if self.learned:
            raise ValueError("ema_update needs a VectorQuantizer(learned=False); this "
                             "codebook is a parameter moved by the codebook loss")
        _, z_e_sg, _, idx, _ = self.cache
        counts, sums = ops.vq_code_stats(z_e_sg, idx, self.n_codes)
        functional_vq.vq_ema_update(self.codebook, self.cluster_size, self.cluster_sum,
                                    counts, sums, decay, eps)

    def restart(self, codes, vectors):
        """Move ``codes`` (int array) onto ``vectors`` (len(codes), D), e.g.
        random encoder outputs: a dead code is given a place where data are.
        The EMA state of those codes restarts as one vector seen once."""
        self.codebook[codes] = vectors
        if not self.learned:
            self.cluster_size[codes] = 1
            self.cluster_sum[codes] = vectors

    def __repr__(self):
        return (f"VectorQuantizer({self.n_codes}, {self.dim}, init={self.init!r}, "
                f"learned={self.learned})")
