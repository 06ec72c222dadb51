# %% [markdown]
# # Exercise 23: the noise-prediction loss and its gradient
#
# Goes with lesson 19 (`lessons/19_diffusion.py`), which trains a diffusion
# model (Ho, Jain and Abbeel, 2020) as a denoising autoencoder at every level
# of a ladder of noise levels at once (`tinyae.models.DiffusionModel`).
#
# One training step of a diffusion model takes clean points $x_0: (N, D)$,
# draws a level for each row, with survival factor $\bar\alpha_n \in (0, 1)$
# (`alpha_bar: (N,)`, one number per row: the
# $\bar\alpha_t = \prod_{s \le t} (1 - \beta_s)$ of the row's level $t$), and
# noise $\epsilon: (N, D)$ with $\epsilon_{nd} \sim \mathcal N(0, 1)$, and
# jumps straight to the noised point of lesson 19's closed form: the data
# shrunk by $\sqrt{\bar\alpha}$ plus noise of standard deviation
# $\sigma = \sqrt{1 - \bar\alpha}$,
#
# $$x_t = \sqrt{\bar\alpha}\, x_0 + \sqrt{1 - \bar\alpha}\; \epsilon \qquad \text{(row by row)}.$$
#
# The network sees $x_t$ (and the level) and predicts the noise,
# $\hat\epsilon: (N, D)$. The loss is the course's squared error, summed over
# the $D$ dimensions of an example and averaged over the batch (Ho et al.'s
# Eq. 14, one draw per row):
#
# $$L = \frac1N \sum_{n=1}^N \sum_{d=1}^D \big(\hat\epsilon_{nd} - \epsilon_{nd}\big)^2 .$$
#
# Lesson 19 shows that the best prediction is
# $\mathbb E[\epsilon \mid x_t] = -\sigma\, \nabla_{x_t} \log p_t(x_t)$, minus
# the noise level times the score of the noised density. Turned around, a
# trained network gives an estimate of the score at every level: solve that
# relation for $\nabla \log p_t$, with $\hat\epsilon$ in place of the
# conditional mean.
#
# **Derive** $\partial L / \partial \hat\epsilon$, shaped like $\hat\epsilon$:
# write $L$ out for one entry $\hat\epsilon_{nd}$; which terms of the double
# sum contain it, and what does the $1/N$ do?
#
# **Implement**
#
# * `diffuse(x0, eps, alpha_bar) -> x_t`, shaped like `x0`;
# * `mse_loss(pred, target) -> (loss, dpred)`, a float and an array shaped
#   like `pred` (the step calls it as `mse_loss(eps_hat, eps)`);
# * `noise_to_score(eps_hat, alpha_bar) -> score`, shaped like `eps_hat`,
#
# every array in the dtype of the inputs. `alpha_bar` has one entry per row:
# mind the broadcasting of `(N,)` against `(N, D)`.
# Stuck? `tinyae exercises hint 23` (three levels; the last gives the formulas).

# %%
import numpy as np


# %% nbgrader={"grade": false, "grade_id": "ex23-diffuse", "locked": false, "schema_version": 3, "solution": true, "task": false}
def diffuse(x0, eps, alpha_bar):
    """x0, eps: (N, D), alpha_bar: (N,) -> x_t: (N, D)."""
    ### BEGIN SOLUTION
    ab = alpha_bar[:, None]                              # (N, 1): one level per row
    x_t = np.sqrt(ab) * x0 + np.sqrt(1 - ab) * eps
    ### END SOLUTION
    return x_t


# %% nbgrader={"grade": false, "grade_id": "ex23-mse-loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
def mse_loss(pred, target):
    """pred, target: (N, D) -> (loss (a float), dpred (N, D))."""
    n = pred.shape[0]
    ### BEGIN SOLUTION
    diff = pred - target
    loss = float(np.sum(diff * diff)) / n
    dpred = 2 * diff / n
    ### END SOLUTION
    return loss, dpred


# %% nbgrader={"grade": false, "grade_id": "ex23-noise-to-score", "locked": false, "schema_version": 3, "solution": true, "task": false}
def noise_to_score(eps_hat, alpha_bar):
    """eps_hat: (N, D), alpha_bar: (N,) -> score: (N, D)."""
    ### BEGIN SOLUTION
    sigma = np.sqrt(1 - alpha_bar)[:, None]              # (N, 1): each row's noise level
    score = -eps_hat / sigma
    ### END SOLUTION
    return score


# %% [markdown]
# ## Check
#
# `tinyae exercises check 23`, or the cell below; the integration part trains
# a small noise predictor on lesson 19's three-cluster mixture with your
# `diffuse` and `mse_loss`.

# %% nbgrader={"grade": true, "grade_id": "ex23-check", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
if __name__ == "__main__":
    from tinyae.course.exercises import check_here
    check_here(23, globals())
