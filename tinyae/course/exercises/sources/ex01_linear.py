# %% [markdown]
# # Exercise 1: the linear layer, forward and backward
#
# Goes with lesson 01 (`lessons/01_linear_ae_vs_pca.py`), whose encoder and
# decoder are each one such layer.
#
# Every network in this course is built from one affine map,
#
# $$\text{out} = x W + b, \qquad x: (N, n_\text{in}),\; W: (n_\text{in}, n_\text{out}),\; b: (n_\text{out},),\; \text{out}: (N, n_\text{out}),$$
#
# the bias $b$ added to every row. The backward pass receives the upstream
# gradient $\text{dout} = \partial L / \partial \text{out}$ (shaped like out) and
# returns $dx = \partial L / \partial x$, $dW$ and $db$, each shaped like what it is
# the gradient of.
#
# **Derive the backward pass** before you write it:
#
# 1. Write one entry of out: $\text{out}_{nj} = \sum_i x_{ni} W_{ij} + b_j$.
# 2. Pick one entry $W_{ij}$. Which entries of out does it touch? The chain rule
#    sums over all of them,
#    $$\frac{\partial L}{\partial W_{ij}} = \sum_{m, k} \text{dout}_{mk}\, \frac{\partial \text{out}_{mk}}{\partial W_{ij}}:$$
#    differentiate one term of the sum and see which terms are zero.
# 3. Do the same for one $x_{ni}$ and one $b_j$.
# 4. Write each result for all entries at once, as a matrix product or a sum over
#    an axis, and check that it has the shape it must have.
#
# The loss already carries the $1/N$ of its batch mean (it is inside dout).
#
# **Implement** `linear_forward` (return the output and a cache holding what
# the backward pass needs) and `linear_backward` (return `dx, dW, db`).
# Stuck? `tinyae exercises hint 1` gives a first hint (three levels; the last
# gives the formula). The library's version is `tinyae.functional.linear_forward`
# / `linear_backward`: read it only after you have tried.

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

# %% nbgrader={"grade": true, "grade_id": "ex01-check", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
if __name__ == "__main__":
    from tinyae.course.exercises import check_here
    check_here(1, globals())
