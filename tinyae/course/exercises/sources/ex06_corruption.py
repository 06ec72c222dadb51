# %% [markdown]
# # Exercise 6: masking and Gaussian corruption
#
# A denoising autoencoder sees a corrupted $\tilde x$ and is trained to
# reconstruct the clean $x$ (Vincent et al., 2008). Two corruptions:
#
# * **masking**: each input is set to 0 with probability `fraction`. Given
#   uniform draws $u \in [0, 1)$ shaped like $x$, drop where $u <$ fraction:
#   $\tilde x = x \cdot [u \ge \text{fraction}]$. Nothing is rescaled (this
#   is not dropout: the target is the clean $x$, not an expectation).
# * **Gaussian**: $\tilde x = x + \sigma e$ with standard-normal draws $e$;
#   $\sigma$ is the noise's standard deviation. (Lesson 03: the optimal
#   denoiser then points along the score of the data density.)
#
# The random draws come in as arguments (`u`, `e`), so the functions are
# deterministic and testable. The draws are float64 whatever the dtype of
# `x`; the output must keep **x's dtype**.
#
# **Implement** `masking_corrupt(x, u, fraction)` and
# `gaussian_corrupt(x, e, sigma)` for any shape of `x`.

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

# %%
if __name__ == "__main__":
    from tinyae.course.exercises import check_here
    check_here(6, globals())
