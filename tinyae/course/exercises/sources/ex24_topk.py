# %% [markdown]
# # Exercise 24: the top-k activation, forward and backward
#
# Goes with lesson 20 (`lessons/20_sparse_autoencoders_inside.py`), whose
# top-k sparse autoencoder (Makhzani and Frey, 2013; Gao et al., 2024) keeps
# exactly $k$ latents of every input.
#
# Top-k acts on the last axis: for $x$ of shape $(\dots, d)$ (a batch
# $(N, d)$, or tokens $(N, T, d)$) and an integer $1 \le k \le d$, each row is
# treated on its own. Let $S(x) \subset \{1, \dots, d\}$ be the positions of
# the $k$ largest entries of the row. The output keeps the row's entries at
# the positions in $S(x)$, as they are (negative ones too: top-k is not
# followed by a ReLU here), and is 0 at the other $d - k$ positions.
#
# **Ties.** When entries are equal, the lower position comes first: among
# equal values the one with the smaller index is the larger for the purpose
# of choosing $S$. So $S(x)$ always has exactly $k$ members (ReLU outputs,
# full of zeros, tie all the time). A sort that is not stable does not keep
# this order.
#
# **Derive the backward pass**: given $\text{dout} = \partial L / \partial \text{out}$,
# shaped like out, find $dx = \partial L / \partial x$.
#
# 1. Fix $x$ with no tie between the $k$-th and the $(k+1)$-th largest entry
#    of any row. Move one entry $x_j$ by a small amount: does $S(x)$ change?
#    Then, near $x$, how does each $\text{out}_i$ depend on each $x_j$?
# 2. Apply the chain rule:
#    $\partial L / \partial x_j = \sum_i (\partial L / \partial \text{out}_i)\, \partial \text{out}_i / \partial x_j$.
# 3. The backward sees only `dout` and your cache: what must the forward keep
#    so that the backward knows which set $S$ the forward chose?
#
# **Implement** `topk_forward(x, k) -> (out, cache)`, out shaped like $x$ in
# its dtype, the cache whatever your backward needs, and
# `topk_backward(dout, cache) -> dx`, shaped like $x$ in its dtype.
# Stuck? `tinyae exercises hint 24` (three levels; the last gives the rule).

# %%
import numpy as np


# %% nbgrader={"grade": false, "grade_id": "ex24-topk-forward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def topk_forward(x, k):
    """x: (..., d), an int 1 <= k <= d -> (out (..., d), cache)."""
    ### BEGIN SOLUTION
    order = np.argsort(-x, axis=-1, kind="stable")[..., :k]   # (..., k) positions of S
    mask = np.zeros(x.shape, dtype=bool)
    np.put_along_axis(mask, order, True, axis=-1)
    out = np.where(mask, x, 0).astype(x.dtype)
    cache = mask
    ### END SOLUTION
    return out, cache


# %% nbgrader={"grade": false, "grade_id": "ex24-topk-backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def topk_backward(dout, cache):
    """dout: (..., d) -> dx: (..., d)."""
    ### BEGIN SOLUTION
    mask = cache
    dx = dout * mask
    ### END SOLUTION
    return dx


# %% [markdown]
# ## Check
#
# `tinyae exercises check 24`, or the cell below; the integration part trains
# a top-8 autoencoder with 64 latents on digits with your two functions.

# %% nbgrader={"grade": true, "grade_id": "ex24-check", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
if __name__ == "__main__":
    from tinyae.course.exercises import check_here
    check_here(24, globals())
