# %% [markdown]
# # Exercise 13: the beta-VAE loss and its gradients
#
# Goes with lesson 07 (`lessons/07_beta_and_conditional_vae.py`), whose sweep
# of beta-VAEs and whose conditional VAE are trained with this loss.
#
# A VAE with a Bernoulli decoder turns each image $x_n$ (grey levels in
# $[0, 1]$) into the mean `mu` and the log-variance `logvar` of
# $q(z \mid x_n)$, and its decoder turns a code into logits $z_{nk}$, one per
# pixel. Lesson 07 splits the loss into a *distortion* and a *rate*, each a
# sum over an example's entries and a mean over the batch, and the beta-VAE
# prices the rate at $\beta$ nats of distortion per nat:
#
# $$L = D + \beta R, \qquad
#   D = \frac1N \sum_{n,k} \Big(\text{softplus}(z_{nk}) - x_{nk} z_{nk}\Big), \qquad
#   R = \frac1N \sum_{n,j} \tfrac12\Big(e^{\text{logvar}_{nj}} + \mu_{nj}^2 - 1 - \text{logvar}_{nj}\Big),$$
#
# with $\text{softplus}(z) = \log(1 + e^z) = \max(z, 0) + \log(1 + e^{-|z|})$
# (the right-hand form never overflows: exercise 3) and
# $x, z: (N, D)$, $\mu, \text{logvar}: (N, d)$.
#
# **Derive** the gradient of $L$ with respect to each of the three arrays the
# networks produce, the logits, $\mu$ and logvar, each shaped like what it is
# the gradient of, holding the other two fixed. Which of the two terms does
# each array appear in? Differentiate one entry's term of that sum. Mind that
# the encoder outputs the *log*-variance: differentiate with respect to
# logvar itself.
#
# In a training step the logits also depend on $\mu$ and logvar, through the
# sample $z = \mu + e^{\text{logvar}/2} \epsilon$ (exercise 9); the training
# code adds that path to yours. In the conditional VAE of lesson 07 the
# decoder reads $(z, \text{onehot}(y))$: the label changes the logits, not the
# loss, so your function serves it unchanged, and the decoder's backward pass
# gives a gradient for its whole input of which only the first $d$ columns
# belong to $z$ (the label is data). The integration part of the check trains
# such a conditional VAE, with $\beta = 2$, using your function.
#
# **Implement** `beta_vae_loss(x, logits, mu, logvar, beta) -> (loss, dlogits,
# dmu, dlogvar)`: `loss` a Python float, each gradient with the shape and
# dtype of its array. Stuck? `tinyae exercises hint 13` (three levels; the
# last gives the formulas).

# %%
import numpy as np

from tinyae.functional import sigmoid    # overflow-free s(z)


# %% nbgrader={"grade": false, "grade_id": "ex13-beta-vae-loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
def beta_vae_loss(x, logits, mu, logvar, beta):
    """x, logits: (N, D); mu, logvar: (N, d) -> (loss: float, dlogits (N, D),
    dmu (N, d), dlogvar (N, d))."""
    n = x.shape[0]
    ### BEGIN SOLUTION
    softplus = np.maximum(logits, 0) + np.log1p(np.exp(-np.abs(logits)))
    recon = float(np.sum(softplus - x * logits)) / n
    kl = 0.5 * float(np.sum(np.exp(logvar) + mu * mu - 1.0 - logvar)) / n
    loss = recon + beta * kl
    dlogits = (sigmoid(logits) - x) / n
    dmu = beta * mu / n
    dlogvar = 0.5 * beta * (np.exp(logvar) - 1.0) / n
    ### END SOLUTION
    return loss, dlogits, dmu, dlogvar


# %% [markdown]
# ## Check
#
# `tinyae exercises check 13`, or the cell below (its cases include logits of
# $\pm 100$ and log-variances of $\pm 6$); the integration part trains a
# small conditional VAE on digits and their labels with your loss.

# %% nbgrader={"grade": true, "grade_id": "ex13-check", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
if __name__ == "__main__":
    from tinyae.course.exercises import check_here
    check_here(13, globals())
