# %% [markdown]
# # Exercise 20: ISTA's proximal step for the lasso
#
# Goes with lesson 16 (`lessons/16_sparse_coding_and_recirculation.py`),
# sections 1 and 3: sparse coding, and ISTA.
#
# Sparse coding explains each row $x_n$ of a batch $x: (N, d)$ by a code
# $z_n$, a row of $z: (N, K)$, over a dictionary $D: (K, d)$ whose **rows** are
# the $K$ atoms: the reconstruction is $z D$. The code minimises, per example,
#
# $$F(z_n) = \underbrace{\tfrac12 \|x_n - z_n D\|^2}_{f(z_n)} + \lambda \|z_n\|_1 .$$
#
# (Books that write $x \approx D z$ with column vectors use the transpose of this
# $D$; here everything is a row, as in tinyae's batches.)
#
# ISTA alternates a gradient step on the smooth part $f$ with the proximal map of
# the L1 part. With step $\eta$,
#
# $$z \leftarrow \text{soft}\big(z - \eta\, \nabla f(z),\ \eta \lambda\big), \qquad
# \text{soft}(v, t) = \arg\min_{w}\ \tfrac12 (w - v)^2 + t\,|w| \quad \text{(entry by entry)}.$$
#
# The guarantees (Beck and Teboulle, 2009) need $\eta = 1/L$, with $L$ the
# Lipschitz constant of $\nabla f$.
#
# **Derive**
#
# 1. $\nabla f(z)$ for one row $z_n$: expand $f(z_n + \delta)$ and read off the term
#    linear in $\delta$. Which shape is it, and how do you write it for the whole
#    batch at once?
# 2. The soft-threshold: minimise $\tfrac12 (w - v)^2 + t|w|$ over the scalar $w$,
#    for $w > 0$, $w < 0$ and at $w = 0$ (where $|w|$ has no derivative). For which
#    $v$ is $w = 0$ the answer? What sign does $w$ have otherwise?
# 3. $L$: how much can $\nabla f(z) - \nabla f(z')$ grow with $z - z'$? It is the
#    square of one norm of $D$; which one?
#
# **Implement**
#
# * `soft_threshold_forward(v, t) -> (out, cache)`: `v` any shape, $t \ge 0$;
#   `out` shaped like `v`, in its dtype; `cache` what a backward pass would need
#   (e.g. which entries passed);
# * `ista_step_forward(z, x, D, lam, step) -> (out, cache)`: one ISTA step, `out`
#   shaped like `z`; the cache is not used here (`None` will do);
# * `lipschitz_constant(D) -> L`, a float.
#
# Stuck? `tinyae exercises hint 20` (three levels; the last gives the formulas).

# %%
import numpy as np


# %% nbgrader={"grade": false, "grade_id": "ex20-ista", "locked": false, "schema_version": 3, "solution": true, "task": false}
def soft_threshold_forward(v, t):
    """v: any shape, t >= 0 -> (out shaped like v, cache)."""
    ### BEGIN SOLUTION
    mask = np.abs(v) > t                                 # the entries that survive
    out = np.where(mask, v - t * np.sign(v), 0).astype(v.dtype)
    cache = mask
    ### END SOLUTION
    return out, cache


def ista_step_forward(z, x, D, lam, step):
    """z: (N, K), x: (N, d), D: (K, d) -> (out (N, K), cache)."""
    ### BEGIN SOLUTION
    residual = z @ D - x                                 # (N, d)
    grad = residual @ D.T                                # (N, K): the gradient of f
    u = z - step * grad
    out, cache = soft_threshold_forward(u, step * lam)
    ### END SOLUTION
    return out, cache


def lipschitz_constant(D):
    """D: (K, d) -> L, a float."""
    ### BEGIN SOLUTION
    s = np.linalg.norm(D.astype(np.float64), 2)         # the largest singular value
    L = float(s * s)
    ### END SOLUTION
    return L


# %% [markdown]
# ## Check
#
# `tinyae exercises check 20`, or the cell below; the integration part runs 100
# steps of your ISTA, with step 1/L from your `lipschitz_constant`, on a small
# sparse-coding problem and compares the energies with the library's ISTA.

# %% nbgrader={"grade": true, "grade_id": "ex20-check", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
if __name__ == "__main__":
    from tinyae.course.exercises import check_here
    check_here(20, globals())
