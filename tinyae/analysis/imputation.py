"""Exact baselines for filling in hidden pixels: the mean, and the best
linear imputation (the conditional mean of a Gaussian) in closed form.

If x ~ N(mu, S) and x is split into visible entries v and hidden entries h,

    E[x_h | x_v] = mu_h + S_hv S_vv^{-1} (x_v - mu_v),
    Cov[x_h | x_v] = S_hh - S_hv S_vv^{-1} S_vh.

For Gaussian data this is the best predictor of x_h from x_v in squared
error, linear or not. For any data with mean mu and covariance S it is the
best *affine* predictor (the normal equations of a least-squares regression
of x_h on x_v only involve first and second moments), so on MNIST it is the
strongest baseline that a linear map of the visible pixels can reach, and a
masked autoencoder has to be nonlinear in a useful way to beat it.

Pixels that never vary in the training set (MNIST's corners) make S_vv
singular: ``ridge`` adds ``ridge * I`` to S_vv (a Tikhonov / shrinkage
term, equal to assuming independent noise of variance ``ridge`` on the
visible pixels). ``ridge=0`` is the exact formula and needs S_vv positive
definite.
"""

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve

from .._validation import check_array, check_nonneg_float


class GaussianImputer:
    """Conditional-Gaussian (best linear) imputation of hidden entries.

        imp = GaussianImputer(ridge=1e-2).fit(x_train)      # mean_, cov_
        x_filled = imp.impute(x_test, hidden)                # hidden: bool, like x_test

    ``fit`` estimates ``mean_`` (D,) and ``cov_`` (D, D) (the maximum-
    likelihood covariance, divided by n) in float64; ``from_moments`` takes
    them as given (a known Gaussian).
    """

    def __init__(self, *, ridge=0.0):
        self.ridge = check_nonneg_float(ridge, "ridge")

    def fit(self, x):
        """x: (n, D) -> self, with ``mean_`` (D,) and ``cov_`` (D, D)."""
        x = check_array(x, "x", ndim=2)
        xd = x.astype(np.float64)
        self.mean_ = xd.mean(axis=0)
        xc = xd - self.mean_
        self.cov_ = xc.T @ xc / xd.shape[0]
        return self

    @classmethod
    def from_moments(cls, mean, cov, *, ridge=0.0):
        """An imputer for a known mean (D,) and covariance (D, D)."""
        imp = cls(ridge=ridge)
        mean = check_array(np.asarray(mean, dtype=np.float64), "mean", ndim=1)
        d = mean.shape[0]
        cov = check_array(np.asarray(cov, dtype=np.float64), "cov", ndim=2, shape=(d, d))
        if not np.allclose(cov, cov.T):
            raise ValueError("cov must be symmetric")
        imp.mean_, imp.cov_ = mean, cov
        return imp

    def _check_fitted(self):
        if not hasattr(self, "cov_"):
            raise RuntimeError("GaussianImputer is not fitted: call fit(x) or use "
                               "GaussianImputer.from_moments(mean, cov) first")

    def coefficients(self, visible):
        """For a bool pattern ``visible`` (D,): the regression matrix
        ``B = (S_vv + ridge I)^{-1} S_vh`` (n_visible, n_hidden), so that
        ``x_h = mu_h + (x_v - mu_v) B``."""
        self._check_fitted()
        s_vv = self.cov_[np.ix_(visible, visible)] + self.ridge * np.eye(int(visible.sum()))
        s_vh = self.cov_[np.ix_(visible, ~visible)]
        try:
            return cho_solve(cho_factor(s_vv), s_vh)
        except LinAlgError:
            raise LinAlgError(
                f"the covariance of the {int(visible.sum())} visible entries is singular "
                f"(ridge={self.ridge:g}); pass ridge > 0, e.g. 1e-3 times the mean "
                f"variance") from None

    def impute(self, x, hidden):
        """x: (n, D), hidden: (n, D) bool -> (n, D) float64: the visible
        entries of x unchanged, each hidden one replaced by its conditional
        mean given that row's visible entries. Rows that share a pattern
        share one factorisation."""
        self._check_fitted()
        d = self.mean_.shape[0]
        x = check_array(x, "x", ndim=2, shape=(None, d))
        if not isinstance(hidden, np.ndarray) or hidden.dtype != bool or hidden.shape != x.shape:
            raise ValueError(f"hidden must be a bool array of x's shape {x.shape}, got "
                             f"{getattr(hidden, 'dtype', type(hidden).__name__)} "
                             f"{getattr(hidden, 'shape', '')}")
        out = x.astype(np.float64)
        patterns, which = np.unique(hidden, axis=0, return_inverse=True)
        for k, pattern in enumerate(patterns):
            rows = np.flatnonzero(which.reshape(-1) == k)
            visible = ~pattern
            if not pattern.any():
                continue
            fill = np.broadcast_to(self.mean_[pattern], (rows.size, int(pattern.sum())))
            if visible.any():
                fill = fill + (out[np.ix_(rows, visible)] - self.mean_[visible]) \
                    @ self.coefficients(visible)
            out[np.ix_(rows, pattern)] = fill
        return out

    def conditional_covariance(self, visible):
        """``S_hh - S_hv (S_vv + ridge I)^{-1} S_vh`` for a bool pattern
        ``visible`` (D,): the expected squared error of each hidden entry
        (its diagonal) when the data are Gaussian with these moments."""
        b = self.coefficients(visible)
        return self.cov_[np.ix_(~visible, ~visible)] - self.cov_[np.ix_(~visible, visible)] @ b


__all__ = ["GaussianImputer"]
