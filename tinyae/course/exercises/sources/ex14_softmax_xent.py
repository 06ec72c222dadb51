# %% [markdown]
# # Exercise 14: softmax cross-entropy and its gradient
#
# Goes with lesson 08 (`lessons/08_stacked_and_outliers.py`), whose linear
# read-out (a softmax classifier on the learned codes) is trained with this
# loss, as is a stack of autoencoders fine-tuned as a classifier.
#
# A classifier outputs one row of logits $z_n$ per example, $K \ge 2$ of them,
# and the softmax turns a row into a distribution over the classes:
#
# $$p_{nk} = \frac{e^{z_{nk}}}{\sum_{j=1}^{K} e^{z_{nj}}}.$$
#
# With integer labels $y_n \in \{0, \dots, K - 1\}$ the loss is the mean
# negative log-probability of the right class, tinyae's convention for every
# loss (sum over an example, mean over the batch):
#
# $$L = -\frac1N \sum_{n=1}^{N} \log p_{n y_n}, \qquad
#   \text{logits}: (N, K),\; \text{labels}: (N,).$$
#
# **Derive** $\partial L / \partial z$, shaped like the logits. Write
# $\log p_{n y_n}$ with the definition above (a difference of two terms), then
# differentiate it with respect to one logit $z_{nk}$: which examples' terms
# contain $z_{nk}$, and how does each of the two parts depend on it? Treat
# $k = y_n$ and $k \ne y_n$ separately. Check your result: what should one row
# of the gradient sum to, given that adding the same number to every logit of
# a row changes nothing?
#
# **Mind the numbers.** Your loss and gradient must be finite and right for
# logits of $\pm 60$ and $\pm 100$ in float32 (where $e^{100}$ is already
# inf) and of $\pm 1000$ in float64, and for a label whose probability is far
# below the smallest float. Show first that subtracting a constant $c_n$ from
# every logit of row $n$ changes neither $p$ nor $L$; which $c_n$ keeps every
# exponent at most 0? Then never take the log of a probability you computed:
# write $\log p$ itself.
#
# **Implement** `softmax_cross_entropy(logits, labels) -> (loss, dlogits)`:
# `loss` a Python float, `dlogits` with the shape and dtype of `logits`.
# Stuck? `tinyae exercises hint 14` (three levels; the last gives the formula).

# %%
import numpy as np


# %% nbgrader={"grade": false, "grade_id": "ex14-softmax-xent", "locked": false, "schema_version": 3, "solution": true, "task": false}
def softmax_cross_entropy(logits, labels):
    """logits: (N, K), labels: (N,) ints in [0, K) -> (loss: float, dlogits: (N, K))."""
    n = logits.shape[0]
    rows = np.arange(n)                      # rows[n] = n: logp[rows, labels] picks p_{n y_n}
    ### BEGIN SOLUTION
    shifted = logits - logits.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -float(logp[rows, labels].sum()) / n
    p = np.exp(logp)
    p[rows, labels] -= 1.0
    dlogits = p / n
    ### END SOLUTION
    return loss, dlogits


# %% [markdown]
# ## Check
#
# `tinyae exercises check 14`, or the cell below (its cases include logits of
# $\pm 100$ and $\pm 1000$); the integration part trains softmax regression on
# digits with your loss.

# %% nbgrader={"grade": true, "grade_id": "ex14-check", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
if __name__ == "__main__":
    from tinyae.course.exercises import check_here
    check_here(14, globals())
