# %% [markdown]
# # Exercise 1: the linear layer, forward and backward
#
# Every network in this course is built from one affine map,
#
# $$\text{out} = x W + b, \qquad x: (N, n_\text{in}),\; W: (n_\text{in}, n_\text{out}),\; b: (n_\text{out},).$$
#
# Written per entry, $\text{out}_{nj} = \sum_i x_{ni} W_{ij} + b_j$. Given the
# upstream gradient $\text{dout} = \partial L / \partial \text{out}$ (same
# shape as out), the chain rule gives
#
# $$dx = \text{dout}\, W^\top, \qquad dW = x^\top \text{dout}, \qquad db_j = \sum_n \text{dout}_{nj}.$$
#
# Each gradient has the shape of what it is the gradient of. The bias is
# added to every row, so its gradient collects every row: a sum over the
# batch (the loss already carries the $1/N$ of its mean).
#
# **Implement** `linear_forward` (return the output and a cache holding what
# the backward pass needs) and `linear_backward` (return `dx, dW, db`).
# The library's version is `tinyae.functional.linear_forward` /
# `linear_backward`: read it only after you have tried.

# %%
import numpy as np  # noqa: F401  (for your code)

# %% nbgrader={"grade": false, "grade_id": "ex01-linear", "locked": false, "schema_version": 3, "solution": true, "task": false}
def linear_forward(x, W, b):
    """out = x W + b. x: (N, n_in), W: (n_in, n_out), b: (n_out,) -> out: (N, n_out).

    Returns (out, cache) with cache = (x, W).
    """
    ### BEGIN SOLUTION
    out = x @ W + b
    ### END SOLUTION
    return out, (x, W)


def linear_backward(dout, cache):
    """dout: (N, n_out) -> (dx (N, n_in), dW (n_in, n_out), db (n_out,))."""
    x, W = cache
    ### BEGIN SOLUTION
    dx = dout @ W.T
    dW = x.T @ dout
    db = dout.sum(axis=0)
    ### END SOLUTION
    return dx, dW, db


# %% [markdown]
# ## Check
#
# Run the cell below (or `tinyae exercises check 1` in this folder). It
# compares your functions with the library's on random inputs (float32 and
# float64, batch 1, width 1, large values), checks your backward against
# finite differences of your own forward, names the mistake if it knows it,
# and trains a small autoencoder with your layer.

# %%
if __name__ == "__main__":
    from tinyae.course.exercises import check_here
    check_here(1, globals())
