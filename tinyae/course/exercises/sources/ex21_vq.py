# %% [markdown]
# # Exercise 21: the VQ-VAE's quantiser: nearest code, straight-through, codebook and commitment
#
# Goes with lesson 17 (`lessons/17_vq_vae.py`), sections 1 to 3.
#
# A VQ-VAE's encoder gives $P$ vectors of dimension $D$ per image; over a batch of
# $N$ images they are the $M = N P$ rows of $z_e: (M, D)$. Each row is replaced by
# the nearest row (code) of the codebook $e: (K, D)$:
#
# $$k_m = \arg\min_k \|z_e[m] - e_k\|^2, \qquad z_q[m] = e_{k_m}$$
#
# (ties to the lowest $k$, as `np.argmin` breaks them). $z_q$ is piecewise constant
# in $z_e$. The **straight-through estimator** computes it as
#
# $$z_q = z_e + \text{sg}(z_q - z_e),$$
#
# where the stop-gradient $\text{sg}(\cdot)$ is the identity in the forward pass and
# a constant in the backward pass. Two more terms of the loss, with
# $\text{sg}$ on one side each, sum over the $M$ rows and mean over the $N$ images:
#
# $$C = \frac1N \sum_m \|\text{sg}(z_e[m]) - e_{k_m}\|^2 \ \ \text{(codebook)}, \qquad
# B = \frac{\beta}{N} \sum_m \|z_e[m] - \text{sg}(e_{k_m})\|^2 \ \ \text{(commitment)}.$$
#
# In code the stop-gradient is a second argument holding the same values: `z_e_sg`
# is `z_e` as a constant and `z_q_sg` is $e_{k_m}$ as a constant (a gradient check
# passes frozen copies of them, so finite differences see what your backward
# differentiates: only `z_e` and `codebook` vary).
#
# **Derive**
#
# 1. The gradient that the straight-through estimator sends to $z_e$, given
#    $dz_q = \partial L / \partial z_q$ (from the decoder): differentiate the
#    expression above, with sg a constant. Compare with the true derivative of the
#    piecewise-constant $z_q$.
# 2. $\partial (C + B) / \partial z_e$: which of the two terms depends on $z_e$, not
#    only on `z_e_sg`?
# 3. $\partial (C + B) / \partial e_k$: write one term $m$ of the sum in $C$. Which
#    rows $m$ contain $e_k$? What happens when two rows chose the same code, and when
#    no row chose code $k$?
#
# **Implement**
#
# * `vq_nearest(z, codebook) -> (idx, dist)`: `idx` the $(M,)$ integer array of
#   $k_m$ (int64), `dist` the $(M,)$ squared distances $\|z[m] - e_{k_m}\|^2$;
# * `vq_straight_through_forward(z_e, z_e_sg, z_q_sg) -> (out, cache)`: the value
#   $z_q$, written as above;
# * `vq_straight_through_backward(dout, cache) -> dz_e`;
# * `vq_losses(z_e, z_q_sg, z_e_sg, codebook, idx, beta, n) -> (C, B, dz_e, dcodebook)`:
#   `n` the number of images $N$ (not $M$), `dz_e` $= \partial (C + B) / \partial z_e$
#   shaped like `z_e`, `dcodebook` $= \partial (C + B) / \partial e$ shaped like
#   `codebook`; $C$ and $B$ floats.
#
# Stuck? `tinyae exercises hint 21` (three levels; the last gives the formulas).

# %%
import numpy as np


# %% nbgrader={"grade": false, "grade_id": "ex21-vq", "locked": false, "schema_version": 3, "solution": true, "task": false}
def vq_nearest(z, codebook):
    """z: (M, D), codebook: (K, D) -> (idx (M,) int64, dist (M,))."""
    ### BEGIN SOLUTION
    d = ((z[:, None, :] - codebook[None, :, :]) ** 2).sum(axis=2)     # (M, K)
    idx = np.argmin(d, axis=1)
    dist = d[np.arange(z.shape[0]), idx]
    ### END SOLUTION
    return idx, dist


def vq_straight_through_forward(z_e, z_e_sg, z_q_sg):
    """z_e, z_e_sg, z_q_sg: (M, D) -> (out (M, D), cache)."""
    ### BEGIN SOLUTION
    out = z_e + (z_q_sg - z_e_sg)
    cache = None
    ### END SOLUTION
    return out, cache


def vq_straight_through_backward(dout, cache):
    """dout: (M, D) -> dz_e (M, D)."""
    ### BEGIN SOLUTION
    dz_e = dout
    ### END SOLUTION
    return dz_e


def vq_losses(z_e, z_q_sg, z_e_sg, codebook, idx, beta, n):
    """z_e, z_q_sg, z_e_sg: (M, D), codebook: (K, D), idx: (M,) ints,
    n: the number of images -> (C, B, dz_e (M, D), dcodebook (K, D))."""
    ### BEGIN SOLUTION
    C = float(np.sum((z_e_sg - codebook[idx]) ** 2)) / n
    B = beta * float(np.sum((z_e - z_q_sg) ** 2)) / n
    dz_e = (2 * beta / n) * (z_e - z_q_sg)
    dcodebook = np.zeros_like(codebook)
    np.add.at(dcodebook, idx, (2 / n) * (codebook[idx] - z_e_sg))
    ### END SOLUTION
    return C, B, dz_e, dcodebook


# %% [markdown]
# ## Check
#
# `tinyae exercises check 21`, or the cell below; the integration part trains a
# small VQ-VAE (4 positions of dimension 3, 16 codes) with your four functions.

# %% nbgrader={"grade": true, "grade_id": "ex21-check", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
if __name__ == "__main__":
    from tinyae.course.exercises import check_here
    check_here(21, globals())
