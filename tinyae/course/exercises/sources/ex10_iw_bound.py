# %% [markdown]
# # Exercise 10: the importance-weighted bound (log-sum-exp)
#
# Goes with lesson 10 (`lessons/10_vae_likelihood.py`), which estimates a VAE's
# log-likelihood with this bound.
#
# With $k$ samples $z_i \sim q(z \mid x)$ and log weights
# $\log w_i = \log p(x \mid z_i) + \log p(z_i) - \log q(z_i \mid x)$,
# Burda et al. (2016) bound the log-likelihood by
#
# $$L_k = \log \frac1k \sum_{i=1}^k w_i \;\le\; \log p(x), \qquad L_1 \le L_k \le L_{k+1}.$$
#
# The log weights of an MNIST VAE are around $-100$ nats: $e^{-100}$ is
# still a float64, $e^{-1000}$ is 0. So shift by the largest one first
# (log-sum-exp): with $m = \max_i \log w_i$,
#
# $$L_k = m + \log \sum_i e^{\log w_i - m} - \log k,$$
#
# where every exponent is $\le 0$ and at least one term equals 1.
#
# **Derive** the gradient $\partial L_k / \partial \log w_i$ (the `weights`
# output). Use the first form, $L_k = \log \sum_i e^{\log w_i} - \log k$: it is
# the log of a sum, and only one term of the sum contains $\log w_i$. Then ask
# what the shift does: $m$ depends on the log weights too, so why does it not
# change the gradient? What do the $k$ gradients of one example add up to?
#
# The input holds one column per example: `log_w: (k, batch)`.
#
# **Implement** `iw_bound(log_w) -> (L_k, weights)`: `L_k: (batch,)`,
# `weights: (k, batch)`, in the dtype of `log_w`, with no overflow or
# underflow to 0 for log weights of $-1000$.
# Stuck? `tinyae exercises hint 10` (three levels; the last gives the formula).

# %%
import numpy as np


# %% nbgrader={"grade": false, "grade_id": "ex10-iw-bound", "locked": false, "schema_version": 3, "solution": true, "task": false}
def iw_bound(log_w):
    """log_w: (k, batch) -> (L_k (batch,), weights (k, batch))."""
    k = log_w.shape[0]
    ### BEGIN SOLUTION
    top = log_w.max(axis=0)                        # (batch,) each example's max
    shifted = np.exp(log_w - top)                  # (k, batch), entries in (0, 1]
    total = shifted.sum(axis=0)
    bound = top + np.log(total / k)
    weights = shifted / total
    ### END SOLUTION
    return bound, weights


# %% [markdown]
# ## Check
#
# `tinyae exercises check 10`, or the cell below; the integration part
# evaluates L_1, L_10 and L_100 of a trained VAE with your function.

# %% nbgrader={"grade": true, "grade_id": "ex10-check", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
if __name__ == "__main__":
    from tinyae.course.exercises import check_here
    check_here(10, globals())
