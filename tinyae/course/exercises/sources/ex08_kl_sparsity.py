# %% [markdown]
# # Exercise 8: the KL sparsity penalty and its gradient
#
# Goes with lesson 05 (`lessons/05_sparse_ae.py`), which trains a sparse
# autoencoder with this penalty.
#
# A sparse autoencoder asks each sigmoid unit of its code $h: (N, n_h)$ to be
# active only a fraction $\rho$ of the time (Ng's lecture notes on sparse
# autoencoders). With $\hat\rho_j = \frac1N \sum_n h_{nj}$, unit $j$'s mean
# activation over the batch, the penalty is
#
# $$P = \beta \sum_j \mathrm{KL}(\rho \,\|\, \hat\rho_j), \qquad
#   \mathrm{KL}(\rho \,\|\, r) = \rho \log\frac{\rho}{r} + (1 - \rho) \log\frac{1 - \rho}{1 - r}.$$
#
# $P$ is a function of the batch as a whole (through $\hat\rho$): unlike a
# loss it is *not* a mean of per-example terms and has no $1/N$ of its own.
#
# **Derive** $\partial P / \partial h$, shaped like $h$. $P$ depends on $h_{nj}$
# only through $\hat\rho_j$, so go in two steps: differentiate
# $\mathrm{KL}(\rho \,\|\, r)$ in $r$ (one term of the sum over $j$), then ask
# how $\hat\rho_j$ changes with one $h_{nj}$. Does the result depend on $n$?
#
# **Implement** `kl_sparsity(h, rho, beta) -> (P, dh)` for h in (0, 1):
# `P` a float, `dh` shaped like `h` in its dtype.
# Stuck? `tinyae exercises hint 8` (three levels; the last gives the formula).

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

# %% nbgrader={"grade": true, "grade_id": "ex08-check", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
if __name__ == "__main__":
    from tinyae.course.exercises import check_here
    check_here(8, globals())
