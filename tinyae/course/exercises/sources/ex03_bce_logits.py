# %% [markdown]
# # Exercise 3: binary cross-entropy on logits, numerically safe
#
# Goes with lesson 02 (`lessons/02_undercomplete_ae.py`), whose Bernoulli
# decoders are trained with this loss.
#
# A Bernoulli decoder outputs logits $z$; the probability of a white pixel is
# $s(z) = 1 / (1 + e^{-z})$. The negative log-likelihood of a grey level
# $t \in [0, 1]$ is
#
# $$\ell(z, t) = -t \log s(z) - (1 - t) \log(1 - s(z)).$$
#
# Written this way it breaks: for $z = 40$, $s(z)$ rounds to exactly 1 in
# float64 (for $z = 17$ already in float32) and $\log(1 - s(z)) = \log 0 = -\infty$.
# Using $\log s(z) = -\text{softplus}(-z)$ and $\log(1 - s(z)) = -\text{softplus}(z)$,
# with $\text{softplus}(z) = \log(1 + e^z)$,
#
# $$\ell(z, t) = \text{softplus}(z) - t z, \qquad \text{softplus}(z) = \max(z, 0) + \log(1 + e^{-|z|}),$$
#
# and the right-hand form never overflows (`np.log1p` keeps it accurate; check
# it by taking $e^{z}$ out of $1 + e^{z}$ when $z > 0$).
#
# tinyae's convention for every loss: **sum over the pixels of an example,
# mean over the batch**. With `logits` and `target` of shape $(N, d)$,
#
# $$L = \frac1N \sum_{n=1}^{N} \sum_{k=1}^{d} \ell(z_{nk}, t_{nk}).$$
#
# **Derive** $\partial L / \partial z$, shaped like the logits: which terms of
# the sum contain $z_{nk}$? Differentiate that one term, $\text{softplus}(z) - t z$,
# in $z$: do you recognise the derivative of softplus? Your gradient must be as
# safe as your loss, finite at $|z| = 60$ in both dtypes.
#
# **Implement** `bce_with_logits_loss(logits, target) -> (loss, dlogits)`:
# `loss` a Python float, `dlogits` with the shape and dtype of `logits`.
# Stuck? `tinyae exercises hint 3` (three levels; the last gives the formula).

# %%
import numpy as np

from tinyae.functional import sigmoid    # overflow-free s(z)


# %% nbgrader={"grade": false, "grade_id": "ex03-bce", "locked": false, "schema_version": 3, "solution": true, "task": false}
def bce_with_logits_loss(logits, target):
    """logits, target: (N, d) -> (loss: float, dlogits: (N, d))."""
    n = logits.shape[0]
    ### BEGIN SOLUTION
    softplus = np.maximum(logits, 0) + np.log1p(np.exp(-np.abs(logits)))
    loss = float(np.sum(softplus - target * logits)) / n
    dlogits = (sigmoid(logits) - target) / n
    ### END SOLUTION
    return loss, dlogits


# %% [markdown]
# ## Check
#
# `tinyae exercises check 3`, or the cell below (it includes logits of
# magnitude 60, where the textbook formula returns inf).

# %% nbgrader={"grade": true, "grade_id": "ex03-check", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
if __name__ == "__main__":
    from tinyae.course.exercises import check_here
    check_here(3, globals())
