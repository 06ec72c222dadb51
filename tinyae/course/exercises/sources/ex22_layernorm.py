# %% [markdown]
# # Exercise 22: LayerNorm forward and backward
#
# Goes with lesson 18 (`lessons/18_masked_autoencoders.py`): every block of the
# masked autoencoder's transformer normalises its tokens with LayerNorm (Ba,
# Kiros and Hinton, 2016) before attention and before the MLP.
#
# LayerNorm works on the last axis. For $x$ of shape $(\dots, D)$ (a batch
# $(N, D)$, or the MAE's tokens $(N, T, D)$) each row $x = (x_1, \dots, x_D)$
# is normalised on its own, then scaled and shifted by parameters
# $\gamma, \beta$ of shape $(D,)$ shared by every row:
#
# $$\mu = \frac1D \sum_{i=1}^D x_i, \qquad
#   \sigma^2 = \frac1D \sum_{i=1}^D (x_i - \mu)^2, \qquad
#   \hat x_i = \frac{x_i - \mu}{\sqrt{\sigma^2 + \epsilon}}, \qquad
#   \text{out}_i = \gamma_i \hat x_i + \beta_i .$$
#
# The variance is the biased one (divide by $D$), and $\epsilon > 0$ sits
# inside the square root. What does a row of width $D = 1$ give, and what
# keeps it from being 0/0?
#
# **Derive the backward pass**: given $\text{dout} = \partial L / \partial \text{out}$,
# shaped like out, find $dx$ (shaped like $x$), $d\gamma$ and $d\beta$ (shaped
# $(D,)$).
#
# 1. Start with one row. $\mu$ and $\sigma^2$ are functions of *every* entry of
#    the row, so $\hat x_i$ depends on every $x_j$, not only on $x_i$. Find
#    $\partial \mu / \partial x_j$, then $\partial \sigma^2 / \partial x_j$ (what
#    is $\sum_i (x_i - \mu)$?), then $\partial \hat x_i / \partial x_j$ by the
#    product rule.
# 2. Sum the chain rule over $i$, writing $g_i = \partial L / \partial \hat x_i$:
#    $\partial L / \partial x_j = \sum_i g_i\, \partial \hat x_i / \partial x_j$.
#    Write the result with row means, so that it is one line of NumPy for all
#    rows at once.
# 3. $\gamma_i$ and $\beta_i$ touch $\text{out}_i$ of *every* row (every
#    example, every token): over which axes do their gradients collect?
#
# Check your result on two facts: LayerNorm's output does not change when a
# row is shifted by a constant or scaled by a positive factor (with
# $\epsilon = 0$), so what must each row of $dx$ satisfy?
#
# **Implement** `layernorm_forward(x, gamma, beta, eps) -> (out, cache)`, the
# cache being whatever your backward needs, and `layernorm_backward(dout,
# cache) -> (dx, dgamma, dbeta)`, for $x$ of any number of leading axes, every
# output in the dtype of $x$.
# Stuck? `tinyae exercises hint 22` (three levels; the last gives the formula).

# %%
import numpy as np


# %% nbgrader={"grade": false, "grade_id": "ex22-layernorm-forward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def layernorm_forward(x, gamma, beta, eps):
    """x: (..., D), gamma, beta: (D,), eps > 0 -> (out (..., D), cache)."""
    ### BEGIN SOLUTION
    mu = x.mean(axis=-1, keepdims=True)                  # (..., 1)
    xc = x - mu
    var = (xc * xc).mean(axis=-1, keepdims=True)         # biased: divide by D
    r = 1.0 / np.sqrt(var + eps)                         # (..., 1)
    xhat = xc * r
    out = xhat * gamma + beta
    cache = (xhat, r, gamma)
    ### END SOLUTION
    return out, cache


# %% nbgrader={"grade": false, "grade_id": "ex22-layernorm-backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def layernorm_backward(dout, cache):
    """dout: (..., D) -> (dx (..., D), dgamma (D,), dbeta (D,))."""
    ### BEGIN SOLUTION
    xhat, r, gamma = cache
    g = dout * gamma                                     # dL/dxhat
    dx = r * (g - g.mean(axis=-1, keepdims=True)
              - xhat * (g * xhat).mean(axis=-1, keepdims=True))
    d = dout.shape[-1]
    dgamma = (dout * xhat).reshape(-1, d).sum(axis=0)
    dbeta = dout.reshape(-1, d).sum(axis=0)
    ### END SOLUTION
    return dx, dgamma, dbeta


# %% [markdown]
# ## Check
#
# `tinyae exercises check 22`, or the cell below; the integration part trains
# a small autoencoder with a LayerNorm after its hidden layer, with your two
# functions.

# %% nbgrader={"grade": true, "grade_id": "ex22-check", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
if __name__ == "__main__":
    from tinyae.course.exercises import check_here
    check_here(22, globals())
