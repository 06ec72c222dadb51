# %% [markdown]
# # Exercise 5: Adam's update
#
# Goes with lesson 02 (`lessons/02_undercomplete_ae.py`), whose autoencoders are
# trained with Adam.
#
# Adam (Kingma and Ba, 2015) keeps, per parameter, running means of the
# gradient $g$ and of its square, both starting at $m_0 = v_0 = 0$; at step
# $t = 1, 2, \dots$
#
# $$m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2,$$
#
# and it steps with bias-corrected versions $\hat m_t$, $\hat v_t$ of them:
#
# $$p \leftarrow p - \text{lr}\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}.$$
#
# **Derive the bias correction.** Because $m_0 = 0$, $m_t$ is pulled towards 0
# in the first steps. Unroll the recursion to write $m_t$ as a weighted sum of
# $g_1, \dots, g_t$; take expectations assuming every $g_\tau$ has the same mean;
# the factor in front of $E[g]$ is what $\hat m_t$ divides by. The same holds
# for $v_t$ with $\beta_2$ and $g^2$.
#
# The step is then about lr in size whatever the gradient's scale; $\epsilon$
# only matters when $\sqrt{\hat v_t}$ is tiny. `p`, `g`, `m` and `v` share one
# shape (any shape).
#
# **Implement** `adam_update(p, g, m, v, lr, b1, b2, eps, t)`, updating `p`,
# `m` and `v` **in place** (the optimiser owns them; `p -= ...` changes the
# caller's array, `p = p - ...` does not) and leaving `g` unchanged.
# Stuck? `tinyae exercises hint 5` (three levels; the last gives the formula).

# %%
import numpy as np


# %% nbgrader={"grade": false, "grade_id": "ex05-adam", "locked": false, "schema_version": 3, "solution": true, "task": false}
def adam_update(p, g, m, v, lr, b1, b2, eps, t):
    """One Adam step in place on p, m and v (one shape); t >= 1. Returns None."""
    ### BEGIN SOLUTION
    m *= b1
    m += (1 - b1) * g
    v *= b2
    v += (1 - b2) * (g * g)
    m_hat = m / (1 - b1 ** t)
    v_hat = v / (1 - b2 ** t)
    p -= lr * m_hat / (np.sqrt(v_hat) + eps)
    ### END SOLUTION


# %% [markdown]
# ## Check
#
# `tinyae exercises check 5`, or the cell below: three steps from zero
# moments on several shapes (and gradients of 1e-9, where eps matters), then
# the autoencoder trained with your optimiser.

# %% nbgrader={"grade": true, "grade_id": "ex05-check", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
if __name__ == "__main__":
    from tinyae.course.exercises import check_here
    check_here(5, globals())
