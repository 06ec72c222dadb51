# %% [markdown]
# # Exercise 7: the contractive penalty and its gradient
#
# A contractive autoencoder (Rifai et al., 2011) penalises the encoder's
# sensitivity to its input: the squared Frobenius norm of the Jacobian of
# $h = \text{act}(x W + b)$, $W: (n_\text{in}, n_h)$. Since
# $J_n = \text{diag}(d_n) W^\top$ with $d_{nj} = \text{act}'(a_{nj})$,
#
# $$\|J_n\|_F^2 = \sum_j d_{nj}^2 c_j, \qquad c_j = \sum_i W_{ij}^2,$$
#
# and the penalty (mean over the batch, weight $\lambda$) is
# $P = \frac{\lambda}{N} \sum_{n,j} d_{nj}^2 c_j$.
#
# Written with the code $h$ itself: sigmoid units have $d = h(1 - h)$ and
# $d'(h) = \partial d / \partial h = 1 - 2h$; tanh units $d = 1 - h^2$,
# $d'(h) = -2h$. The partial derivatives (holding the other argument fixed) are
#
# $$\frac{\partial P}{\partial h_{nj}} = \frac{\lambda}{N}\, 2\, d_{nj}\, d'(h_{nj})\, c_j, \qquad
#   \frac{\partial P}{\partial W_{ij}} = \frac{\lambda}{N}\, 2\, W_{ij} \sum_n d_{nj}^2.$$
#
# (The model adds the path through $h$ by sending `dh` back through the
# encoder; `tinyae.penalties.contractive_from_code` explains it.) Both
# factors of 2 are the classic place to go wrong.
#
# **Implement** `contractive_penalty(h, W, activation, lam) -> (P, dh, dW)`
# for `activation` "sigmoid" or "tanh": `P` a float, `dh` and `dW` in the
# dtypes of `h` and `W`.

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

# %%
if __name__ == "__main__":
    from tinyae.course.exercises import check_here
    check_here(7, globals())
