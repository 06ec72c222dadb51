"""PCA and the linear autoencoder: the same subspace, found two ways.

A linear autoencoder with a k-unit code,

    z = x W_e + b_e            (batch, k)      encoder, W_e: (d, k)
    x_hat = z W_d + b_d        (batch, d)      decoder, W_d: (k, d)

trained on the squared error ``L = (1/N) sum_n ||x_hat_n - x_n||^2`` has no
local minima other than the global one (Baldi and Hornik, 1989): every
minimum reconstructs ``x`` by projecting it onto the span of the top-k
principal directions. So gradient descent finds *the PCA subspace*, but not
the principal directions themselves: for any invertible k x k matrix A,
``(W_e A, A^{-1} W_d)`` gives the same reconstructions. The rows of W_d span
the principal subspace without being orthonormal or ordered by variance.

``PCA`` finds the same subspace in closed form from the SVD of the centred
data, ``X_c = U S V^T``: the top-k rows of V^T are the principal directions
and ``S_j^2 / N`` are the eigenvalues of the covariance.

``principal_angle_cosines`` measures how close two subspaces are (all
cosines 1 means the same subspace).
"""

import numpy as np

from .._validation import (
    check_array,
    check_choice,
    check_dtype,
    check_positive_int,
    check_rng,
    check_sizes,
)
from ..backend import ops
from ..layers import INITS, Linear, TiedLinear
from ..losses import check_support
from .base import Model, batched


# --------------------------------------------------------------------------
# Principal component analysis
# --------------------------------------------------------------------------

class PCA:
    """Principal component analysis by singular value decomposition.

    ``PCA(n_components=k).fit(x)`` with x: (n, d) computes, in float64::

        mean_ = (1/n) sum_n x_n                                    (d,)
        X_c = x - mean_ = U S V^T                                  (n, d)

    and keeps the top k right singular vectors as ``components_`` (k, d),
    orthonormal rows sorted by decreasing variance. For tall data (n > d)
    the SVD is taken of R in the QR factorisation X_c = Q R: R: (d, d) has
    the same singular values and right singular vectors as X_c, and the
    n x d matrix U (never needed) is not formed.

    **Variance convention: 1/n** (the maximum-likelihood covariance
    ``C = X_c^T X_c / n``, not the unbiased 1/(n-1)). With it the
    eigenvalues are ``lambda_j = S_j^2 / n`` and the training error in the
    library's loss convention (sum over features, mean over rows) is exactly::

        (1/n) ||X_c - X_c V_k V_k^T||_F^2 = (1/n) sum_{j>k} S_j^2
                                          = sum_{j>k} lambda_j,

    the sum of the discarded eigenvalues (``discarded_variance_``).

    Fitted attributes (float64, ending in ``_``): ``mean_`` (d,),
    ``components_`` (k, d), ``explained_variance_`` (k,),
    ``explained_variance_ratio_`` (k,), ``singular_values_`` (k,),
    ``discarded_variance_`` (float), ``total_variance_`` (float),
    ``n_samples_``, ``n_features_``.

    Signs are made deterministic: the entry of largest magnitude of each
    component is positive.
    """

    def __init__(self, n_components):
        self.n_components = check_positive_int(n_components, "n_components")

    # -- fitting -----------------------------------------------------------
    def fit(self, x):
        """Fit on x: (n, d) (float32 or float64; computed in float64). Returns self."""
        check_array(x, "x")
        n, d = x.shape
        k = self.n_components
        if k > min(n, d):
            raise ValueError(
                f"n_components must be <= min(n_samples, n_features) = "
                f"min({n}, {d}) = {min(n, d)}, got {k}")
        x64 = x.astype(np.float64)                      # (n, d), a fresh copy
        mean = x64.mean(axis=0)                         # (d,)
        x64 -= mean                                     # X_c, centred in place
        if n > d:
            # X_c = Q R with R: (d, d); X_c and R share S and V.
            x64 = np.linalg.qr(x64, mode="r")
        _, s, vt = np.linalg.svd(x64, full_matrices=False)   # s: (r,), vt: (r, d)
        # deterministic signs: the largest-magnitude entry of each row of vt > 0
        signs = np.sign(vt[np.arange(vt.shape[0]), np.argmax(np.abs(vt), axis=1)])
        signs[signs == 0] = 1.0
        vt *= signs[:, None]
        eigenvalues = s * s / n                          # (r,), the 1/n convention
        total = float(eigenvalues.sum())

        self.mean_ = mean
        self.components_ = vt[:k].copy()                # (k, d)
        self.singular_values_ = s[:k].copy()            # (k,)
        self.explained_variance_ = eigenvalues[:k].copy()
        self.explained_variance_ratio_ = (self.explained_variance_ / total
                                          if total > 0 else np.zeros(k))
        self.discarded_variance_ = float(eigenvalues[k:].sum())
        self.total_variance_ = total
        self.n_samples_, self.n_features_ = n, d
        return self

    def _check_fitted(self):
        if not hasattr(self, "components_"):
            raise RuntimeError("this PCA is not fitted yet: call fit(x) first")

    # -- checkpoints (tinyae.checkpoint) ---------------------------------------
    #: The fitted state a checkpoint holds: arrays, and numbers as 0-d arrays.
    STATE = ("mean_", "components_", "singular_values_", "explained_variance_",
             "explained_variance_ratio_", "discarded_variance_", "total_variance_",
             "n_samples_", "n_features_")

    @property
    def params(self):
        """PCA has no trained parameters: its fit is state (``state``)."""
        return {}

    @property
    def state(self):
        """The fit, name -> array (empty before ``fit``)."""
        if not hasattr(self, "components_"):
            return {}
        return {k: np.asarray(getattr(self, k)) for k in self.STATE}

    def load_state(self, arrays):
        """Take a saved fit (``state``) as this PCA's own, after checking that
        it is one: every name present, shapes consistent with n_components."""
        missing = [k for k in self.STATE if k not in arrays]
        extra = sorted(set(arrays) - set(self.STATE))
        if missing or extra:
            raise ValueError(f"a PCA checkpoint holds {list(self.STATE)}; this one lacks "
                             f"{missing} and has unexpected {extra}")
        k, d = arrays["components_"].shape if arrays["components_"].ndim == 2 else (-1, -1)
        shapes = {"mean_": (d,), "components_": (k, d), "singular_values_": (k,),
                  "explained_variance_": (k,), "explained_variance_ratio_": (k,)}
        wrong = {n: arrays[n].shape for n, shape in shapes.items() if arrays[n].shape != shape}
        if k != self.n_components or wrong or int(arrays["n_features_"]) != d:
            raise ValueError(f"the checkpoint's PCA does not fit PCA(n_components="
                             f"{self.n_components}): components_ {arrays['components_'].shape}"
                             + (f", inconsistent shapes {wrong}" if wrong else ""))
        for name in shapes:
            setattr(self, name, arrays[name].astype(np.float64))
        self.discarded_variance_ = float(arrays["discarded_variance_"])
        self.total_variance_ = float(arrays["total_variance_"])
        self.n_samples_, self.n_features_ = int(arrays["n_samples_"]), d
        return self

    def _check_x(self, x, name="x"):
        self._check_fitted()
        return check_array(x, name, shape=(None, self.n_features_))

    # -- using the fit -------------------------------------------------------
    def transform(self, x):
        """Code of x: (batch, d) -> ``z = (x - mean_) V_k^T``: (batch, k), in x's dtype."""
        self._check_x(x)
        z = (x.astype(np.float64) - self.mean_) @ self.components_.T
        return z.astype(x.dtype, copy=False)

    def inverse_transform(self, z):
        """Back to data space: z: (batch, k) -> ``x_hat = z V_k + mean_``: (batch, d)."""
        self._check_fitted()
        check_array(z, "z", shape=(None, self.n_components))
        x_hat = z.astype(np.float64) @ self.components_ + self.mean_
        return x_hat.astype(z.dtype, copy=False)

    def reconstruct(self, x):
        """Projection of x onto the principal affine subspace, (batch, d)."""
        return self.inverse_transform(self.transform(x))

    def reconstruction_error(self, x):
        """Squared error per example: (1/N) sum_n ||x_n - x_hat_n||^2 (float64).

        On the training data this equals ``discarded_variance_``.
        """
        self._check_x(x)
        xc = x.astype(np.float64) - self.mean_               # (batch, d)
        resid = xc - (xc @ self.components_.T) @ self.components_
        return float(np.sum(resid * resid)) / x.shape[0]

    def projector(self):
        """The orthogonal projector onto the principal subspace, V_k^T V_k: (d, d)."""
        self._check_fitted()
        return self.components_.T @ self.components_

    def __repr__(self):
        return f"PCA(n_components={self.n_components})"


# --------------------------------------------------------------------------
# Subspace comparison
# --------------------------------------------------------------------------

def principal_angle_cosines(A, B):
    """Cosines of the principal angles between span(A) and span(B).

    A: (d, p), B: (d, q), each of full column rank. With orthonormal bases
    from QR, A = Q_A R_A and B = Q_B R_B, the singular values of
    ``Q_A^T Q_B`` ((p, q)) are the cosines cos(theta_1) >= ... >=
    cos(theta_m), m = min(p, q) (Bjorck and Golub, 1973). All equal to 1:
    one span contains the other. Returns (m,) float64, descending, in [0, 1].
    """
    mats = []
    for M, name in ((A, "A"), (B, "B")):
        check_array(M, name)
        if M.shape[0] < M.shape[1]:
            raise ValueError(
                f"{name} must have at least as many rows as columns (one basis "
                f"vector per column), got shape {M.shape}")
        mats.append(M.astype(np.float64))
    if mats[0].shape[0] != mats[1].shape[0]:
        raise ValueError(
            f"A and B must have the same number of rows (the ambient dimension), "
            f"got shapes {A.shape} and {B.shape}")
    bases = []
    for M, name in zip(mats, ("A", "B")):
        q, r = np.linalg.qr(M)                          # q: (d, p), r: (p, p)
        diag = np.abs(np.diag(r))
        if diag.min() <= 1e-12 * max(diag.max(), 1e-300):
            raise ValueError(
                f"{name} must have linearly independent columns (full column "
                f"rank), got a rank-deficient {M.shape} matrix")
        bases.append(q)
    cosines = np.linalg.svd(bases[0].T @ bases[1], compute_uv=False)
    return np.clip(cosines, 0.0, 1.0)


# --------------------------------------------------------------------------
# The linear autoencoder
# --------------------------------------------------------------------------

class LinearAutoencoder(Model):
    """Linear autoencoder x -> z = x W_e + b_e -> x_hat = z W_d + b_d.

    Shapes: x: (batch, n_in), z: (batch, n_code), W_e: (n_in, n_code),
    W_d: (n_code, n_in). Loss (library convention, sum over features, mean
    over the batch) and gradients, with r = x_hat - x:

        L      = (1/N) sum_n ||r_n||^2,      dx_hat = 2 r / N
        dW_d   = z^T dx_hat,                 db_d = sum_n dx_hat_n
        dz     = dx_hat W_d^T
        dW_e   = x^T dz,                     db_e = sum_n dz_n

    ``tied=True``: W_d = W_e^T (a ``TiedLinear`` decoder), and W_e collects
    both contributions, dW_e = x^T dz + dx_hat^T z. At the optimum W_e then
    has orthonormal columns and W_e W_e^T is the projector onto the
    principal subspace; untied, only the span of W_d's rows is determined.

    ``sizes=(n_in, n_code)`` as every autoencoder; the likelihood is the
    squared error (the model PCA solves), so there is no ``likelihood``,
    ``activation`` or ``corruption`` keyword.
    ``bias=False`` drops both biases: use it for centred data.
    Parameter names: ``encoder.W``, ``encoder.b``, ``decoder.W`` (untied),
    ``decoder.b``.
    """

    def __init__(self, *, sizes, rng, tied=False, bias=True, init="glorot",
                 dtype=np.float64):
        super().__init__()
        self.sizes = check_sizes(sizes)
        if len(self.sizes) != 2:
            raise ValueError(f"sizes must be (n_in, n_code) for the linear autoencoder, "
                             f"got {self.sizes!r}")
        self.n_in, self.n_code = self.sizes
        check_rng(rng)
        self.tied = bool(tied)
        self.bias = bool(bias)
        self.init = check_choice(init, "init", INITS)
        self.dtype = check_dtype(dtype)
        self.encoder = Linear(self.n_in, self.n_code, rng=rng, init=init, bias=self.bias,
                              dtype=self.dtype)
        if self.tied:
            self.decoder = TiedLinear(self.encoder, bias=self.bias)
        else:
            self.decoder = Linear(self.n_code, self.n_in, rng=rng, init=init,
                                  bias=self.bias, dtype=self.dtype)
        self.modules = {"encoder": self.encoder, "decoder": self.decoder}

    # -- inference ---------------------------------------------------------
    def encode(self, x):
        """x: (batch, n_in) -> z: (batch, n_code)."""
        self._check_x(x, self.n_in)
        return batched(self.encoder.forward, x)

    def decode(self, z):
        """z: (batch, n_code) -> x_hat: (batch, n_in)."""
        self._check_x(z, self.n_code, "z")
        return batched(self.decoder.forward, z)

    def reconstruct(self, x):
        """x: (batch, n_in) -> x_hat: (batch, n_in)."""
        return self.decode(self.encode(x))

    def decoder_weights(self):
        """The decoder matrix W_d: (n_code, n_in) (a view; W_e^T when tied)."""
        return self.encoder.W.T if self.tied else self.decoder.W

    def subspace(self):
        """A basis of the decoder's span as columns: W_d^T, (n_in, n_code).

        Every reconstruction minus ``b_d`` lies in this span; compare it with
        ``PCA.components_.T`` through ``principal_angle_cosines``.
        """
        return self.decoder_weights().T

    # -- training ----------------------------------------------------------
    def loss_and_grad(self, x, *, rng=None):
        """Squared reconstruction error of x: (batch, n_in) and its gradients.

        Returns (loss, grads), grads the flat dict of this model (same keys as
        ``params``). ``rng`` is unused (the model is deterministic).
        """
        check_support(self._check_x(x, self.n_in), "mse")
        self.zero_grad()
        z = self.encoder.forward(x)                      # (batch, n_code)
        x_hat = self.decoder.forward(z)                  # (batch, n_in)
        loss, dx_hat = ops.mse_loss(x_hat, x)
        dz = self.decoder.backward(dx_hat)               # (batch, n_code)
        self.encoder.backward(dz, need_dx=False)         # dL/dx: nobody reads it
        self.last_stats = {"recon": loss}
        return loss, self.grads

    def loss(self, x, *, rng=None):
        """The loss of ``loss_and_grad`` by a forward pass only."""
        check_support(self._check_x(x, self.n_in), "mse")
        loss, _ = ops.mse_loss(self.decoder.forward(self.encoder.forward(x)), x)
        self.last_stats = {"recon": loss}
        return loss
