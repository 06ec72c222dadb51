# %% [markdown]
# # Exercise 16: the t-SNE objective and its gradient
#
# Goes with lesson 12 (`lessons/12_capacity_and_manifolds.py`), which maps the
# codes of 2,000 digits to 2-D with t-SNE.
#
# t-SNE (van der Maaten and Hinton, 2008) places $n$ points
# $y_1, \dots, y_n \in \mathbb R^k$ (the rows of $Y: (n, k)$) so that their
# affinities $Q$ match given affinities $P$ of the data. $P: (n, n)$ is
# symmetric, non-negative, has a zero diagonal and sums to 1. The map's
# affinities use a Student-t kernel with one degree of freedom:
#
# $$w_{ij} = \frac{1}{1 + \lVert y_i - y_j \rVert^2} \;\; (i \ne j), \qquad w_{ii} = 0,
# \qquad Z = \sum_{a \ne b} w_{ab}, \qquad q_{ij} = \frac{w_{ij}}{Z},$$
#
# and the objective is
#
# $$C(Y) = \mathrm{KL}(P \,\|\, Q) = \sum_{i \ne j} p_{ij} \log \frac{p_{ij}}{q_{ij}},$$
#
# where a pair with $p_{ij} = 0$ adds nothing (the limit of $p \log p$ is 0).
#
# **Derive** $\partial C / \partial y_i$, a vector of length $k$, so the whole
# gradient $dY$ is shaped like $Y$:
#
# 1. Use $\log q_{ij} = \log w_{ij} - \log Z$ and $\sum p_{ij} = 1$ to split $C$
#    into a term that does not depend on $Y$, a sum over pairs, and $\log Z$.
# 2. Which $w_{ab}$ depend on $y_i$? Differentiate one of them, $w_{ij}$, with
#    respect to $y_i$, and write the result with $w_{ij}$ itself.
# 3. In how many terms of a sum over ordered pairs $(a, b)$ does $w_{ij}$
#    appear? ($P$ is symmetric.)
# 4. Collect the terms from the pair sum and from $\log Z$ into one sum over $j$.
#
# Check your result on $n = 2$: there $Q = P$ whatever $Y$ is, so what must
# $C$ and $dY$ be?
#
# **Implement** `tsne_kl_grad(y, p) -> (C, dY)`: `C` a float, `dY` shaped
# like `y` in its dtype. Any $k \ge 1$, any $n \ge 2$; use arrays, not loops
# over pairs. Stuck? `tinyae exercises hint 16` (three levels; the last gives
# the formula).

# %%
import numpy as np


# %% nbgrader={"grade": false, "grade_id": "ex16-tsne-grad", "locked": false, "schema_version": 3, "solution": true, "task": false}
def tsne_kl_grad(y, p):
    """y: (n, k) embedding, p: (n, n) joint affinities (symmetric, zero
    diagonal, summing to 1) -> (KL(P || Q) as a float, dY (n, k))."""
    ### BEGIN SOLUTION
    diff = y[:, None, :] - y[None, :, :]                  # (n, n, k): y_i - y_j
    d2 = np.sum(diff * diff, axis=2)                      # (n, n)
    w = 1.0 / (1.0 + d2)
    np.fill_diagonal(w, 0.0)
    q = w / w.sum()
    kept = p > 0                                          # pairs that add to the KL
    kl = float(np.sum(p[kept] * np.log(p[kept] / q[kept])))
    dy = 4.0 * np.einsum("ij,ijk->ik", (p - q) * w, diff)
    ### END SOLUTION
    return kl, dy


# %% [markdown]
# ## Check
#
# `tinyae exercises check 16`, or the cell below: your function against
# the library's on several sizes (down to $n = 2$, 1-D and 3-D maps, points
# far apart, $P$ with zero entries), against finite differences of your own
# $C$, and in a short gradient descent on three clusters.

# %% nbgrader={"grade": true, "grade_id": "ex16-check", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
if __name__ == "__main__":
    from tinyae.course.exercises import check_here
    check_here(16, globals())
