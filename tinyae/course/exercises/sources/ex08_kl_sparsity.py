# %% [markdown]
# # Exercise 8: the KL sparsity penalty and its gradient
#
# A sparse autoencoder asks each sigmoid unit of its code to be active only
# a fraction $\rho$ of the time (Ng's lecture notes on sparse autoencoders).
# With $\hat\rho_j = \frac1N \sum_n h_{nj}$, unit $j$'s mean activation over
# the batch, the penalty is
#
# $$P = \beta \sum_j \mathrm{KL}(\rho \,\|\, \hat\rho_j), \qquad
#   \mathrm{KL}(\rho \,\|\, r) = \rho \log\frac{\rho}{r} + (1 - \rho) \log\frac{1 - \rho}{1 - r}.$$
#
# $P$ is a function of the batch as a whole (through $\hat\rho$): unlike a
# loss it is *not* a mean of per-example terms and has no $1/N$ of its own.
# Since $\partial \hat\rho_j / \partial h_{nj} = 1/N$,
#
# $$\frac{\partial P}{\partial h_{nj}} = \frac{\beta}{N}\left(-\frac{\rho}{\hat\rho_j} + \frac{1 - \rho}{1 - \hat\rho_j}\right),$$
#
# the same for every example $n$.
#
# **Implement** `kl_sparsity(h, rho, beta) -> (P, dh)` for h in (0, 1):
# `P` a float, `dh` shaped like `h` in its dtype.

# %%
import numpy as np


# %% nbgrader={"grade": false, "grade_id": "ex08-kl-sparsity", "locked": false, "schema_version": 3, "solution": true, "task": false}
def kl_sparsity(h, rho, beta):
    """h: (N, n_h) in (0, 1) -> (P, dh (N, n_h))."""
    n = h.shape[0]
    ### BEGIN SOLUTION
    rho_hat = h.mean(axis=0)                       # (n_h,)
    value = beta * float(np.sum(rho * np.log(rho / rho_hat)
                                + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))))
    drho_hat = beta * (-rho / rho_hat + (1 - rho) / (1 - rho_hat))
    dh = np.broadcast_to(drho_hat / n, h.shape).astype(h.dtype)
    ### END SOLUTION
    return value, dh


# %% [markdown]
# ## Check
#
# `tinyae exercises check 8`, or the cell below; the integration part trains
# a sparse autoencoder (rho 0.05, beta 1) with your penalty.

# %%
if __name__ == "__main__":
    from tinyae.course.exercises import check_here
    check_here(8, globals())
