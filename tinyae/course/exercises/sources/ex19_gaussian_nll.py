# %% [markdown]
# # Exercise 19: the Gaussian NLL with a learned variance, and a variance floor
#
# Goes with lesson 15 (`lessons/15_energy_and_stochastic_decoders.py`),
# sections 6 and 7: a decoder with a variance network, and the floor that
# keeps its likelihood bounded.
#
# A Gaussian decoder with a variance network outputs, for every feature, a mean
# $\mu$ and a **log-variance** $s$: $p(x \mid z) = N(\mu, \operatorname{diag} e^{s})$,
# so $e^{s}$ is the variance (not the standard deviation). With $\mu$, $s$ and
# the data $x$ of shape $(N, d)$ and the residual $r = x - \mu$, the negative
# log-likelihood (summed over the $d$ features, averaged over the batch, in nats) is
#
# $$L = \frac1N \sum_{n=1}^{N} \sum_{j=1}^{d} \tfrac12 \left( \log 2\pi + s_{nj} + \frac{r_{nj}^2}{e^{s_{nj}}} \right).$$
#
# On a feature the mean network predicts exactly ($r = 0$), $L$ falls without
# bound as $s \to -\infty$. The floor of lesson 15 fixes it: the log-variance head
# outputs `raw`, and the decoder uses
#
# $$s = l + \text{softplus}(\text{raw} - l), \qquad l = \log v_\text{floor}, \qquad \text{softplus}(u) = \log(1 + e^{u}),$$
#
# so the variance $e^{s}$ never falls below $v_\text{floor}$ (`var_floor`), and
# $s \approx \text{raw}$ when raw is far above $l$.
#
# **Derive** the gradients.
#
# 1. $\partial L / \partial \mu$ and $\partial L / \partial s$, each shaped like $\mu$:
#    write one term $(n, j)$ of the sum. Which entries of $\mu$ and of $s$ does it
#    contain? Differentiate it in $\mu_{nj}$ (through $r$) and in $s_{nj}$ (mind
#    both places where $s$ appears). Where does the $1/N$ go?
# 2. $\partial s / \partial\, \text{raw}$, entry by entry: differentiate softplus.
#    What is this slope far above the floor, and far below it, where the floor
#    holds $s$ up? Then $\partial L / \partial\, \text{raw}$ by the chain rule.
#
# **Implement**
#
# * `gaussian_nll_loss(mu, logvar, target) -> (L, dmu, dlogvar)`: `L` a float,
#   `dmu` and `dlogvar` shaped like `mu`, in its dtype;
# * `logvar_floor_forward(raw, var_floor) -> (s, cache)`: `s` shaped like `raw`,
#   in its dtype (compute $l$ in that dtype too: `raw.dtype.type(np.log(var_floor))`),
#   and whatever your backward needs as `cache`;
# * `logvar_floor_backward(ds, cache) -> draw`: $\partial L / \partial\,\text{raw}$
#   from $ds = \partial L / \partial s$.
#
# The check uses them as the variance-network VAE does: `s, cache =
# logvar_floor_forward(raw, var_floor)`, then `gaussian_nll_loss(mu, s, x)`, then
# `logvar_floor_backward(ds, cache)`; it also checks the NLL on its own, with
# raw as the log-variance (far below the floor, too, where the likelihood runs away).
# Stuck? `tinyae exercises hint 19` (three levels; the last gives the formulas).

# %%
import numpy as np


# %% nbgrader={"grade": false, "grade_id": "ex19-gaussian-nll", "locked": false, "schema_version": 3, "solution": true, "task": false}
def gaussian_nll_loss(mu, logvar, target):
    """mu, logvar, target: (N, d) -> (L, dmu (N, d), dlogvar (N, d))."""
    n = mu.shape[0]
    ### BEGIN SOLUTION
    r = target - mu
    inv_v = np.exp(-logvar)                              # 1 / variance
    r2v = r * r * inv_v
    value = float(np.sum(0.5 * (np.log(2 * np.pi) + logvar + r2v))) / n
    dmu = -(r * inv_v) / n
    dlogvar = 0.5 * (1.0 - r2v) / n
    ### END SOLUTION
    return value, dmu, dlogvar


def logvar_floor_forward(raw, var_floor):
    """raw: any shape, var_floor > 0 -> (s shaped like raw, cache)."""
    ### BEGIN SOLUTION
    log_floor = raw.dtype.type(np.log(var_floor))        # l, in raw's dtype
    u = raw - log_floor
    s = log_floor + np.maximum(u, 0) + np.log1p(np.exp(-np.abs(u)))     # l + softplus(u)
    cache = u
    ### END SOLUTION
    return s, cache


def logvar_floor_backward(ds, cache):
    """ds: shaped like raw -> draw, shaped like raw."""
    ### BEGIN SOLUTION
    u = cache
    slope = 1 / (1 + np.exp(-u))                         # softplus'(u)
    draw = ds * slope
    ### END SOLUTION
    return draw


# %% [markdown]
# ## Check
#
# `tinyae exercises check 19`, or the cell below; the integration part trains a
# small autoencoder with a variance network and a floor of 0.01 on your three
# functions.

# %% nbgrader={"grade": true, "grade_id": "ex19-check", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
if __name__ == "__main__":
    from tinyae.course.exercises import check_here
    check_here(19, globals())
