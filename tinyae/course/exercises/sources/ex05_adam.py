# %% [markdown]
# # Exercise 5: Adam's update
#
# Adam (Kingma and Ba, 2015) keeps, per parameter, running means of the
# gradient and of its square,
#
# $$m \leftarrow \beta_1 m + (1 - \beta_1) g, \qquad v \leftarrow \beta_2 v + (1 - \beta_2) g^2,$$
#
# corrects their bias towards 0 (both start at 0),
# $\hat m = m / (1 - \beta_1^t)$, $\hat v = v / (1 - \beta_2^t)$ at step
# $t = 1, 2, \dots$, and steps
#
# $$p \leftarrow p - \text{lr}\, \frac{\hat m}{\sqrt{\hat v} + \epsilon}.$$
#
# The step is about lr in size whatever the gradient's scale; $\epsilon$
# only matters when $\sqrt{\hat v}$ is tiny.
#
# **Implement** `adam_update(p, g, m, v, lr, b1, b2, eps, t)`, updating `p`,
# `m` and `v` **in place** (the optimiser owns them; `p -= ...` changes the
# caller's array, `p = p - ...` does not) and leaving `g` unchanged.

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

# %%
if __name__ == "__main__":
    from tinyae.course.exercises import check_here
    check_here(5, globals())
