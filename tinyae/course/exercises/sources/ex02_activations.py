# %% [markdown]
# # Exercise 2: sigmoid, tanh and ReLU backward
#
# An activation acts element by element, so its backward pass is a product
# element by element: $dx = \text{dout} \cdot \text{act}'(x)$.
#
# The trick that makes these cheap: each derivative can be written with the
# *output* alone, so the forward pass caches `out` and the backward never
# recomputes the activation.
#
# | activation | out | derivative as a function of out |
# | --- | --- | --- |
# | sigmoid | $s(x) = 1/(1+e^{-x})$ | $s'(x) = \text{out}\,(1 - \text{out})$ |
# | tanh | $\tanh x$ | $1 - \text{out}^2$ |
# | ReLU | $\max(x, 0)$ | $[x > 0] = [\text{out} > 0]$ (0 at the kink) |
#
# The forward passes are given. **Implement** the three backward passes: each
# takes `dout` and the cache (which is `out`) and returns `dx`. They must
# work for any array shape (dense `(N, d)` or images `(N, C, H, W)`).

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
    """dx = dout * [x > 0], with the cache out = max(x, 0)."""
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

# %%
if __name__ == "__main__":
    from tinyae.course.exercises import check_here
    check_here(2, globals())
