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
from .._validation import check_choice, check_nonneg_float, check_positive_int
from .mlp import MLPAutoencoder

#: Penalty name -> (unvalidated core, hyperparameter names it reads).
_CORES = {"l1": (_l1, ("lam",)), "kl": (_kl, ("rho", "beta"))}


class SparseAutoencoder(MLPAutoencoder):
    """An ``MLPAutoencoder`` with a sparsity penalty on its code.

    Shape: either ``sizes=(n_0, ..., n_k)`` (code n_k) or ``n_in=``,
    ``n_hidden=`` for the one-layer (n_in, n_hidden). ``activation`` is the
    code's activation ("sigmoid" by default; "kl" requires it, since rho_hat
    must be a mean of values in (0, 1)); hidden layers of a deeper encoder
    use ``hidden_activation``.

    penalty: "l1" (weight ``lam``) or "kl" (target ``rho``, weight ``beta``).
    ``last_stats``: ``recon``, ``penalty`` (the weighted term added to the
    loss) and ``rho_hat_mean`` (mean activation over units and batch).
    """

    def __init__(self, *, rng, sizes=None, n_in=None, n_hidden=None, penalty="kl",
                 rho=0.05, beta=3.0, lam=1e-3, activation="sigmoid",
                 hidden_activation="relu", output="bernoulli", tied=False,
                 init="glorot", dtype=np.float64):
        if sizes is None:
            if n_in is None or n_hidden is None:
                raise ValueError("give either sizes=(n_in, ..., n_code) or both n_in "
                                 f"and n_hidden, got n_in={n_in!r}, n_hidden={n_hidden!r}")
            sizes = (check_positive_int(n_in, "n_in"),
                     check_positive_int(n_hidden, "n_hidden"))
        elif n_in is not None or n_hidden is not None:
            raise ValueError("give sizes or n_in/n_hidden, not both")
        self.penalty = check_choice(penalty, "penalty", CODE_PENALTIES)
        if penalty == "kl" and activation != "sigmoid":
            raise ValueError(f"penalty='kl' needs activation='sigmoid' (codes in "
                             f"(0, 1)), got activation={activation!r}")
        rho = float(rho)
        if not 0.0 < rho < 1.0:
            raise ValueError(f"rho must be a number in (0, 1), got {rho!r}")
        self.rho = rho
        self.beta = check_nonneg_float(beta, "beta")
        self.lam = check_nonneg_float(lam, "lam")
        super().__init__(sizes=sizes, rng=rng, activation=hidden_activation,
                         code_activation=activation, output=output, tied=tied,
                         init=init, dtype=dtype)

    def _code_penalty(self, h):
        """P(h) for the code h: (N, n_code); its dh joins the decoder's dh."""
        core, names = _CORES[self.penalty]
        penalty, dh_pen = core(h, *(getattr(self, k) for k in names))
        return penalty, dh_pen, {"penalty": penalty, "rho_hat_mean": float(h.mean())}
