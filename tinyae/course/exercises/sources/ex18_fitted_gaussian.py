# %% [markdown]
# # Exercise 18: a Gaussian fitted to the codes, and samples from it
#
# Goes with lesson 14 (`lessons/14_ae_vs_vae_generators.py`), where this
# repair lets a plain autoencoder generate digits about as well as a VAE.
#
# A plain autoencoder's codes can lie anywhere, so decoding draws from
# $\mathcal N(0, I)$ gives grey blurs. The repair: fit a Gaussian
# $\mathcal N(m, C)$ to the training codes $z_1, \dots, z_n$ (the rows of
# `codes: (n, d)`) and decode draws from it.
#
# * **Fit**: $m$ is the mean of the codes and $C$ their *unbiased* sample
#   covariance, the estimate whose expectation is the true covariance. It has
#   the same outer products as the maximum-likelihood estimate and another
#   normaliser: **work out** $\mathbb E \sum_i (z_i - \bar z)(z_i - \bar z)^\top$
#   for independent draws of covariance $\Sigma$ (write
#   $z_i - \bar z = (z_i - \mu) - (\bar z - \mu)$ and use
#   $\mathrm{Cov}(\bar z) = \Sigma / n$).
# * **Sample**: the Cholesky factor of $C$ is the lower-triangular $L$ with a
#   positive diagonal and $C = L L^\top$ (`np.linalg.cholesky`). Given
#   standard-normal draws $\epsilon \sim \mathcal N(0, I_d)$, the draw is
#   $z = m + L \epsilon$. **Work out** its mean and covariance. The draws come
#   as the rows of `eps: (N, d)`, one draw per row, and the samples must be the
#   rows of `z: (N, d)`: how do you write $m + L \epsilon$ for every row at
#   once with one matrix product?
#
# **Implement** `fit_gaussian(codes) -> (mean (d,), cov (d, d))`, with
# $n \ge 2$, and `sample_gaussian(mean, cov, eps) -> z (N, d)`, every output
# in the dtype of the inputs. Mind $d = 1$: `cov` is still $(1, 1)$.
# Stuck? `tinyae exercises hint 18` (three levels; the last gives the formulas).

# %%
import numpy as np


# %% nbgrader={"grade": false, "grade_id": "ex18-fitted-gaussian", "locked": false, "schema_version": 3, "solution": true, "task": false}
def fit_gaussian(codes):
    """codes: (n, d), n >= 2 -> (mean (d,), unbiased covariance (d, d))."""
    n = codes.shape[0]
    ### BEGIN SOLUTION
    mean = codes.mean(axis=0)
    centred = codes - mean
    cov = centred.T @ centred / (n - 1)
    ### END SOLUTION
    return mean, cov


def sample_gaussian(mean, cov, eps):
    """mean (d,), cov (d, d) positive definite, eps (N, d) standard normal ->
    z (N, d): one draw of N(mean, cov) per row of eps, through the Cholesky
    factor of cov."""
    ### BEGIN SOLUTION
    factor = np.linalg.cholesky(cov)                  # lower triangular
    z = mean + eps @ factor.T
    ### END SOLUTION
    return z


# %% [markdown]
# ## Check
#
# `tinyae exercises check 18`, or the cell below: both functions against
# the library's on several sizes (one code dimension, one draw, codes far
# from 0, as few codes as dimensions plus one), then 20,000 draws from the
# Gaussian you fit, whose covariance must be the codes'.

# %% nbgrader={"grade": true, "grade_id": "ex18-check", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
if __name__ == "__main__":
    from tinyae.course.exercises import check_here
    check_here(18, globals())
