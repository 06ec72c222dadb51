# %% [markdown]
# # Exercise 2: sigmoid, tanh and ReLU backward
#
# Goes with lesson 02 (`lessons/02_undercomplete_ae.py`), whose hidden layers use
# these activations.
#
# The forward passes are given. Each acts element by element on an array of any
# shape (dense $(N, d)$ or images $(N, C, H, W)$),
#
# $$s(x) = \frac{1}{1 + e^{-x}}, \qquad \tanh x = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}}, \qquad \text{relu}(x) = \max(x, 0),$$
#
# returns `out` shaped like $x$, and caches **out itself**, not $x$. Each backward
# takes `dout` (shaped like out) and the cache and returns $dx = \partial L / \partial x$,
# shaped like dout.
#
# **Derive the three backward passes**:
#
# 1. Entry $k$ of out depends on entry $k$ of $x$ only. What is left of the
#    chain-rule sum $dx_k = \sum_m \text{dout}_m\, \partial \text{out}_m / \partial x_k$?
# 2. Differentiate each activation, then **rewrite its derivative with the
#    output alone** (the cache holds out, not $x$): the backward pass then never
#    recomputes the activation.
# 3. ReLU has a kink at 0; take its derivative there to be 0, as the library
#    does. Can you tell from out alone which side of the kink $x$ was on?
#
# **Implement** `sigmoid_backward`, `tanh_backward` and `relu_backward`.
# Stuck? `tinyae exercises hint 2` (three levels; the last gives the formulas).

# %%
import numpy as np

from tinyae.functional import sigmoid


def sigmoid_forward(x):
    out = sigmoid(x)          # overflow-free logistic function
    return out, out


def tanh_forward(x):
    out = np.tanh(x)
    return out, out


def relu_forward(x):
    out = np.maximum(x, 0)
    return out, out


# %% nbgrader={"grade": false, "grade_id": "ex02-activations", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sigmoid_backward(dout, cache):
    """dx = dout * s'(x), with the cache out = s(x)."""
    out = cache
    ### BEGIN SOLUTION
    return dout * out * (1 - out)
    ### END SOLUTION


def tanh_backward(dout, cache):
    """dx = dout * tanh'(x), with the cache out = tanh(x)."""
    out = cache
    ### BEGIN SOLUTION
    return dout * (1 - out * out)
    ### END SOLUTION


def relu_backward(dout, cache):
    """dx = dout * relu'(x), with the cache out = max(x, 0); dx shaped like dout."""
    out = cache
    ### BEGIN SOLUTION
    return dout * (out > 0)
    ### END SOLUTION


# %% [markdown]
# ## Check
#
# `tinyae exercises check 2` in this folder, or the cell below. The
# integration part trains the autoencoder three times, with each of your
# activations in its hidden layer.

# %% nbgrader={"grade": true, "grade_id": "ex02-check", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
if __name__ == "__main__":
    from tinyae.course.exercises import check_here
    check_here(2, globals())
