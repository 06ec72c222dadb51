# %% [markdown]
# # Exercise 11: conv2d backward
#
# Goes with lesson 11 (`lessons/11_conv_autoencoders.py`), the convolutional
# autoencoders.
#
# A convolution layer (as in every deep-learning library, a
# cross-correlation: the kernel is not flipped) slides $F$ kernels
# $W: (F, C, k_h, k_w)$ with biases $b: (F,)$ over an input $x: (N, C, H, W)$,
# zero-padded by $p_h, p_w$ into $x_\text{pad}$, with strides $s_h, s_w$:
#
# $$\text{out}[n, f, i, j] = b_f + \sum_{c, p, q} W[f, c, p, q]\; x_\text{pad}[n, c, i s_h + p, j s_w + q],
# \qquad \text{out}: (N, F, H_o, W_o).$$
#
# Each output pixel $(i, j)$ reads one window of the input.
#
# **Derive the backward pass**: given $\text{dout} = \partial L / \partial \text{out}$,
# shaped like out, find $dx$, $dW$ and $db$, each shaped like what it is the
# gradient of.
#
# 1. Write one entry $\text{out}[n, f, i, j]$ as above. Which entries of $W$ does it
#    touch, and with which entry of $x_\text{pad}$ is each multiplied? Which
#    entries of $x_\text{pad}$ does it touch?
# 2. Differentiate one term of the sum with respect to $W[f, c, p, q]$, then sum
#    the chain rule over every output entry that contains that weight.
# 3. Do the same for one entry of $x_\text{pad}$. In how many windows can it sit
#    when the stride is smaller than the kernel? $dx$ is $dx_\text{pad}$
#    without its padding.
# 4. The bias: which outputs does $b_f$ touch?
#
# The forward pass is given: the library's `conv2d_forward_naive`, one window at
# a time. Its cache is `(x, W, ((kh, kw), (sh, sw), (ph, pw), (Ho, Wo)))`.
# **Implement** `conv2d_backward(dout, cache) -> (dx, dW, db)` with loops over
# the output pixels, one window at a time like the forward.
# Stuck? `tinyae exercises hint 11` (three levels; the last gives the formulas).

# %%
import numpy as np

from tinyae.functional import conv2d_forward_naive as conv2d_forward  # noqa: F401  (given)


# %% nbgrader={"grade": false, "grade_id": "ex11-conv2d", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv2d_backward(dout, cache):
    """dout: (N, F, Ho, Wo) -> (dx (N, C, H, W), dW (F, C, kh, kw), db (F,))."""
    x, W, ((kh, kw), (sh, sw), (ph, pw), (ho, wo)) = cache
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))      # zero padding
    dxp, dW = np.zeros_like(xp), np.zeros_like(W)
    ### BEGIN SOLUTION
    for i in range(ho):
        for j in range(wo):
            win = (slice(None), slice(None), slice(i * sh, i * sh + kh),
                   slice(j * sw, j * sw + kw))
            g = dout[:, :, i, j]                                  # (N, F)
            dxp[win] += np.tensordot(g, W, axes=(1, 0))           # (N, C, kh, kw)
            dW += np.tensordot(g, xp[win], axes=(0, 0))           # (F, C, kh, kw)
    dx = dxp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]
    db = dout.sum(axis=(0, 2, 3))
    ### END SOLUTION
    return dx, dW, db


# %% [markdown]
# ## Check
#
# `tinyae exercises check 11`, or the cell below; the integration part trains
# a small convolutional autoencoder with your backward pass.

# %% nbgrader={"grade": true, "grade_id": "ex11-check", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
if __name__ == "__main__":
    from tinyae.course.exercises import check_here
    check_here(11, globals())
