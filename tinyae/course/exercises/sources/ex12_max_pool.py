# %% [markdown]
# # Exercise 12: max-pool backward
#
# Max pooling keeps the largest value of each $k \times k$ window (windows $s$
# apart): $\text{out}[n, c, i, j] = \max_{p, q} x[n, c, i s + p, j s + q]$.
# Only the maximal entry of a window influences the output, with slope 1, so
# the backward pass sends $\text{dout}[n, c, i, j]$ to that entry and nothing
# to the others. Two details decide whether you are right:
#
# * **overlapping windows** ($s < k$): one pixel can be the max of several
#   windows and then collects the gradient of each (add, don't assign);
# * **ties** (the zeros after a ReLU tie all the time): the forward's max is
#   one entry, the first in row-major order (`np.argmax` picks it), and only
#   that entry gets the gradient.
#
# The forward pass is given; its cache is `(x, kernel, stride)`.
# **Implement** `max_pool2d_backward(dout, cache) -> dx`.

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

# %%
if __name__ == "__main__":
    from tinyae.course.exercises import check_here
    check_here(12, globals())
