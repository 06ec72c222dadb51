# %% [markdown]
# # Exercise 7: the contractive penalty and its gradient
#
# Goes with lesson 04 (`lessons/04_contractive_ae.py`), which trains a
# contractive autoencoder with this penalty.
#
# A contractive autoencoder (Rifai et al., 2011) penalises the encoder's
# sensitivity to its input: the squared Frobenius norm of the Jacobian of
# $h = \text{act}(x W + b)$, with $x: (N, n_\text{in})$, $W: (n_\text{in}, n_h)$,
# $h: (N, n_h)$. Since $J_n = \text{diag}(d_n) W^\top$ with
# $d_{nj} = \text{act}'(a_{nj})$,
#
# $$\|J_n\|_F^2 = \sum_j d_{nj}^2 c_j, \qquad c_j = \sum_i W_{ij}^2,$$
#
# and the penalty (mean over the batch, weight $\lambda$) is
#
# $$P = \frac{\lambda}{N} \sum_{n,j} d_{nj}^2\, c_j.$$
#
# The penalty is computed from the code $h$ itself: sigmoid units have
# $d = h(1 - h)$, tanh units $d = 1 - h^2$.
#
# **Derive** the two partial derivatives, each holding the other argument fixed:
# $\partial P / \partial h$ (shaped like $h$, $W$ fixed) and $\partial P / \partial W$
# (shaped like $W$, $h$ fixed). Differentiate one term of the sum:
# $h_{nj}$ appears in the single term $(n, j)$, through $d_{nj}$ (differentiate
# $d$ as a function of $h$ first, for each activation); $W_{ij}$ appears through
# $c_j$, in the terms of column $j$ for every example $n$. Count your factors of 2.
#
# (The model adds the path through $h$ by sending `dh` back through the
# encoder; `tinyae.penalties.contractive_from_code` explains it.)
#
# **Implement** `contractive_penalty(h, W, activation, lam) -> (P, dh, dW)`
# for `activation` "sigmoid" or "tanh": `P` a float, `dh` and `dW` in the
# dtypes of `h` and `W`.
# Stuck? `tinyae exercises hint 7` (three levels; the last gives the formulas).

# %%
import numpy as np


# %% nbgrader={"grade": false, "grade_id": "ex07-contractive", "locked": false, "schema_version": 3, "solution": true, "task": false}
def contractive_penalty(h, W, activation, lam):
    """h: (N, n_h), W: (n_in, n_h) -> (P, dh (N, n_h), dW (n_in, n_h))."""
    n = h.shape[0]
    ### BEGIN SOLUTION
    if activation == "sigmoid":
        d, dd = h * (1 - h), 1 - 2 * h
    else:
        d, dd = 1 - h * h, -2 * h
    c = np.sum(W * W, axis=0)                    # (n_h,) squared column norms
    value = lam * float(np.sum(d * d * c)) / n
    dh = (2 * lam / n) * d * dd * c
    dW = (2 * lam / n) * W * np.sum(d * d, axis=0)
    ### END SOLUTION
    return value, dh, dW


# %% [markdown]
# ## Check
#
# `tinyae exercises check 7`, or the cell below; the integration part trains
# a contractive autoencoder (sigmoid code, lambda 0.1) with your penalty.

# %% nbgrader={"grade": true, "grade_id": "ex07-check", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
if __name__ == "__main__":
    from tinyae.course.exercises import check_here
    check_here(7, globals())
