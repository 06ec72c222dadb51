# %% [markdown]
# # Exercise 12: max-pool backward
#
# Goes with lesson 11 (`lessons/11_conv_autoencoders.py`), the convolutional
# autoencoders.
#
# Max pooling keeps the largest value of each $k \times k$ window, windows $s$
# apart, channel by channel: for $x: (N, C, H, W)$,
#
# $$\text{out}[n, c, i, j] = \max_{0 \le p, q < k} x[n, c, i s + p, j s + q], \qquad \text{out}: (N, C, H_o, W_o).$$
#
# When several entries of a window tie for the maximum (the zeros after a ReLU
# tie all the time), the forward takes the maximum to come from the first of
# them in row-major order, the one `np.argmax` picks on the flattened window.
#
# **Derive the backward pass**: given $\text{dout}$, shaped like out, find
# $dx = \partial L / \partial x$, shaped like $x$.
#
# 1. Write one entry of out as $x$ at one index of its window: which index?
#    Near that $x$ (no tie broken by a small change), how does
#    $\text{out}[n, c, i, j]$ change with each entry of the window?
# 2. Apply the chain rule to one entry of $x$: it sums over every output whose
#    window contains it. When $s < k$ windows overlap: how many outputs can
#    one pixel be the maximum of?
#
# The forward pass is given; its cache is `(x, kernel, stride)`.
# **Implement** `max_pool2d_backward(dout, cache) -> dx`.
# Stuck? `tinyae exercises hint 12` (three levels; the last gives the rule).

# %%
import numpy as np

from tinyae.functional import max_pool2d_forward as _library_max_pool


def max_pool2d_forward(x, kernel, stride):
    """x: (N, C, H, W) -> out: (N, C, Ho, Wo); cache = (x, kernel, stride)."""
    out, _ = _library_max_pool(x, kernel, stride)
    return out, (x, kernel, stride)


# %% nbgrader={"grade": false, "grade_id": "ex12-max-pool", "locked": false, "schema_version": 3, "solution": true, "task": false}
def max_pool2d_backward(dout, cache):
    """dout: (N, C, Ho, Wo) -> dx: (N, C, H, W)."""
    x, k, s = cache
    N, C, Ho, Wo = dout.shape
    dx = np.zeros_like(x)
    n, c = np.indices((N, C))                                     # (N, C) index grids
    for i in range(Ho):
        for j in range(Wo):
            window = x[:, :, i * s:i * s + k, j * s:j * s + k]     # (N, C, k, k)
            g = dout[:, :, i, j]                                  # (N, C)
            ### BEGIN SOLUTION
            arg = window.reshape(N, C, k * k).argmax(axis=2)
            rows, cols = i * s + arg // k, j * s + arg % k
            dx[n, c, rows, cols] += g
            ### END SOLUTION
    return dx


# %% [markdown]
# ## Check
#
# `tinyae exercises check 12`, or the cell below; the integration part trains
# a small convolutional autoencoder with your max-pool backward.

# %% nbgrader={"grade": true, "grade_id": "ex12-check", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
if __name__ == "__main__":
    from tinyae.course.exercises import check_here
    check_here(12, globals())
