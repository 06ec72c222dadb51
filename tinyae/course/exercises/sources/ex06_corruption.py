# %% [markdown]
# # Exercise 6: masking and Gaussian corruption
#
# Goes with lesson 03 (`lessons/03_denoising_scores.py`), where a denoising
# autoencoder learns from these corruptions.
#
# A denoising autoencoder sees a corrupted $\tilde x$ and is trained to
# reconstruct the clean $x$ (Vincent et al., 2008). Two corruptions, for $x$ of
# any shape:
#
# * **masking**: each input is set to 0 with probability `fraction`. Given
#   uniform draws $u \in [0, 1)$ shaped like $x$, an entry is dropped where
#   $u <$ fraction and kept unchanged elsewhere. Nothing is rescaled.
# * **Gaussian**: $\tilde x = x + \sigma e$ with standard-normal draws $e$
#   shaped like $x$; $\sigma$ is the noise's standard deviation.
#
# **Work out** before you write: what is $E[\tilde x]$ under each corruption?
# Dropout divides the kept entries by $1 - \text{fraction}$; why does a
# denoising autoencoder, whose target is the clean $x$, not need to? (Lesson 03:
# the optimal Gaussian denoiser points along the score of the data density.)
#
# The random draws come in as arguments (`u`, `e`), so the functions are
# deterministic and testable. The draws are float64 whatever the dtype of
# `x`; the output must keep **x's dtype**.
#
# **Implement** `masking_corrupt(x, u, fraction)` and
# `gaussian_corrupt(x, e, sigma)`.
# Stuck? `tinyae exercises hint 6` (three levels).

# %%
import numpy as np  # noqa: F401  (for your code)


# %% nbgrader={"grade": false, "grade_id": "ex06-corruption", "locked": false, "schema_version": 3, "solution": true, "task": false}
def masking_corrupt(x, u, fraction):
    """x * [u >= fraction], in x's dtype."""
    ### BEGIN SOLUTION
    return x * (u >= fraction).astype(x.dtype)
    ### END SOLUTION


def gaussian_corrupt(x, e, sigma):
    """x + sigma * e, in x's dtype."""
    ### BEGIN SOLUTION
    return (x + sigma * e).astype(x.dtype)
    ### END SOLUTION


# %% [markdown]
# ## Check
#
# `tinyae exercises check 6`, or the cell below; the integration part
# trains a denoising autoencoder with each corruption.

# %% nbgrader={"grade": true, "grade_id": "ex06-check", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
if __name__ == "__main__":
    from tinyae.course.exercises import check_here
    check_here(6, globals())
