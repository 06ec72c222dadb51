# %% [markdown]
# # Exercise 9: reparameterisation, the Gaussian KL and their backward
#
# Goes with lesson 06 (`lessons/06_vae.py`), the variational autoencoder.
#
# A VAE's encoder outputs the mean `mu` and the **log-variance** `logvar` of
# $q(z \mid x) = N(\mu, \text{diag}\, e^{\text{logvar}})$, both of shape
# $(N, \text{latent})$. One sample is written as a differentiable function of
# them (Kingma and Welling, 2014):
#
# $$z = \mu + \sigma \epsilon, \qquad \sigma = e^{\text{logvar}/2}, \qquad \epsilon \sim N(0, I),$$
#
# with $\epsilon$ (`eps`, shaped like mu) drawn outside and passed in. The KL to
# the prior $N(0, I)$, summed over the latent dimensions and averaged over the
# batch:
#
# $$\mathrm{KL} = \frac{1}{N} \sum_{n,d} \tfrac12\left(\sigma_{nd}^2 + \mu_{nd}^2 - 1 - \text{logvar}_{nd}\right).$$
#
# Mind that $\sigma$ is $e^{\text{logvar}/2}$, not $e^{\text{logvar}}$: that
# mistake passes a finite-difference check (forward and backward stay
# consistent) and still samples the wrong distribution.
#
# **Derive the backward pass** of the loss $f(z) + \beta\,\mathrm{KL}$, given
# $dz = \partial f / \partial z$ (shaped like $z$): the gradients with respect to
# mu and logvar, each shaped like mu. Each of them has two paths, one through
# the sample $z$ and one through the KL. Write $\sigma$ as a function of logvar
# and differentiate it first; then differentiate one entry $z_{nd}$ and one term
# $(n, d)$ of the KL's sum, and add the paths.
#
# **Implement** `reparameterize_kl(mu, logvar, eps) -> (z, KL, cache)` and
# `reparameterize_kl_backward(dz, cache, beta) -> (dmu, dlogvar)`.
# Stuck? `tinyae exercises hint 9` (three levels; the last gives the formulas).

# %%
import numpy as np


# %% nbgrader={"grade": false, "grade_id": "ex09-reparam", "locked": false, "schema_version": 3, "solution": true, "task": false}
def reparameterize_kl(mu, logvar, eps):
    """mu, logvar, eps: (N, latent) -> (z (N, latent), KL: float, cache)."""
    n = mu.shape[0]
    ### BEGIN SOLUTION
    sigma = np.exp(0.5 * logvar)
    z = mu + sigma * eps
    kl = 0.5 * float(np.sum(sigma * sigma + mu * mu - 1.0 - logvar)) / n
    ### END SOLUTION
    return z, kl, (mu, eps, sigma)


def reparameterize_kl_backward(dz, cache, beta):
    """dz: (N, latent) -> (dmu, dlogvar), each (N, latent)."""
    mu, eps, sigma = cache
    n = mu.shape[0]
    ### BEGIN SOLUTION
    dmu = dz + beta * mu / n
    dlogvar = 0.5 * dz * eps * sigma + 0.5 * beta * (sigma * sigma - 1.0) / n
    ### END SOLUTION
    return dmu, dlogvar


# %% [markdown]
# ## Check
#
# `tinyae exercises check 9`, or the cell below; the integration part trains
# a small VAE with your reparameterisation.

# %% nbgrader={"grade": true, "grade_id": "ex09-check", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
if __name__ == "__main__":
    from tinyae.course.exercises import check_here
    check_here(9, globals())
