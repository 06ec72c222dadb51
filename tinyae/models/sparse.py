"""Sparse autoencoder: reconstruction plus a penalty that keeps most code
units near zero for any one input.

    L(x) = recon(x, g(h)) + P(h),   h = f(x): (N, n_code)

with P one of ``tinyae.penalties.CODE_PENALTIES``:

* ``"l1"``: lam * (1/N) sum_n sum_j |h_nj| -- every unit is pushed towards 0;
* ``"kl"``: beta * sum_j KL(rho || rho_hat_j) -- each unit's *mean*
  activation over the batch is pulled to a small target rho (0.05: a unit is
  on for about 1 input in 20), which needs sigmoid codes.

A code can then be wider than the input dimension's intrinsic size without
becoming the identity, and each unit tends to learn a localised feature
(pen strokes on MNIST).
"""

import numpy as np

from ..penalties import CODE_PENALTIES, _kl, _l1
from .._validation import check_choice, check_nonneg_float, check_open_fraction
from .mlp import MLPAutoencoder

#: Penalty name -> (unvalidated core, hyperparameter names it reads).
_CORES = {"l1": (_l1, ("lam",)), "kl": (_kl, ("rho", "beta"))}


class SparseAutoencoder(MLPAutoencoder):
    """An ``MLPAutoencoder`` with a sparsity penalty on its code.

    ``sizes=(n_0, ..., n_k)`` (code n_k) and the other keywords as
    ``MLPAutoencoder``, except that ``code_activation`` defaults to
    "sigmoid" ("kl" requires it, since rho_hat must be a mean of values in
    (0, 1)); hidden layers of a deeper encoder use ``activation``.

    penalty: "l1" (weight ``lam``) or "kl" (target ``rho``, weight ``beta``).
    ``last_stats``: ``recon``, ``penalty`` (the weighted term added to the
    loss) and ``rho_hat_mean`` (mean activation over units and batch).
    """

    def __init__(self, *, sizes, rng, penalty="kl", rho=0.05, beta=3.0, lam=1e-3,
                 activation="relu", code_activation="sigmoid", likelihood="bernoulli",
                 corruption=None, tied=False, init="glorot", dtype=np.float64):
        self.penalty = check_choice(penalty, "penalty", CODE_PENALTIES)
        if penalty == "kl" and code_activation != "sigmoid":
            raise ValueError(f"penalty='kl' needs code_activation='sigmoid' (codes in "
                             f"(0, 1)), got code_activation={code_activation!r}")
        self.rho = check_open_fraction(rho, "rho")
        self.beta = check_nonneg_float(beta, "beta")
        self.lam = check_nonneg_float(lam, "lam")
        super().__init__(sizes=sizes, rng=rng, activation=activation,
                         code_activation=code_activation, likelihood=likelihood,
                         corruption=corruption, tied=tied, init=init, dtype=dtype)

    def _code_penalty(self, h, grad):
        """P(h) for the code h: (N, n_code); its dh joins the decoder's dh."""
        core, names = _CORES[self.penalty]
        penalty, dh_pen = core(h, *(getattr(self, k) for k in names))
        return penalty, dh_pen, {"penalty": penalty, "rho_hat_mean": float(h.mean())}
