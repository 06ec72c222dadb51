# %% [markdown]
# # Exercise 9: reparameterisation, the Gaussian KL and their backward
#
# A VAE's encoder outputs the mean `mu` and the **log-variance** `logvar` of
# $q(z \mid x) = N(\mu, \text{diag}\, e^{\text{logvar}})$. One sample is written
# as a differentiable function of them (Kingma and Welling, 2014):
#
# $$z = \mu + \sigma \epsilon, \qquad \sigma = e^{\text{logvar}/2}, \qquad \epsilon \sim N(0, I).$$
#
# The KL to the prior $N(0, I)$, summed over the latent dimensions and
# averaged over the batch:
#
# $$\mathrm{KL} = \frac{1}{N} \sum_{n,d} \tfrac12\left(\sigma^2 + \mu^2 - 1 - \text{logvar}\right).$$
#
# Backward, for the loss $f(z) + \beta\,\mathrm{KL}$ with $dz = \partial f / \partial z$:
# since $\partial z / \partial \text{logvar} = \epsilon \sigma / 2$,
#
# $$d\mu = dz + \frac{\beta}{N} \mu, \qquad
#   d\,\text{logvar} = \tfrac12\, dz\, \epsilon\, \sigma + \frac{\beta}{2N}\left(\sigma^2 - 1\right).$$
#
# Watch the $\tfrac12$s, and that $\sigma$ is $e^{\text{logvar}/2}$, not
# $e^{\text{logvar}}$: that mistake passes a finite-difference check (forward
# and backward stay consistent) and still samples the wrong distribution.
#
# **Implement** `reparameterize_kl(mu, logvar, eps) -> (z, KL, cache)` and
# `reparameterize_kl_backward(dz, cache, beta) -> (dmu, dlogvar)`.

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

# %%
if __name__ == "__main__":
    from tinyae.course.exercises import check_here
    check_here(9, globals())
