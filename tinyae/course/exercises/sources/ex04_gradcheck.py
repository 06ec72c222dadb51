# %% [markdown]
# # Exercise 4: the finite-difference checker itself
#
# Goes with lesson 00 (`lessons/00_gradient_checking.py`): every backward pass
# of the course is trusted only once it agrees with this checker.
#
# For a scalar function $f$ of an array $x$ (any shape), the central difference
# estimates one partial derivative at a time, with $e_i$ the array that is 1 at
# index $i$ and 0 elsewhere:
#
# $$\frac{\partial f}{\partial x_i} \approx \frac{f(x + h e_i) - f(x - h e_i)}{2h}.$$
#
# **Derive** how good it is: expand $f(x \pm h e_i)$ in a Taylor series to third
# order. Which terms cancel in the difference, and what order in $h$ is the
# error? Compare with the forward difference $(f(x + h e_i) - f(x)) / h$. (The
# checker's tests use both; yours must be the central one.)
#
# Agreement is measured by a relative error *with a floor*,
#
# $$\text{err} = \frac{\max_i |a_i - n_i|}{\max\left(\max_i (|a_i| + |n_i|),\ \text{floor}\right)},$$
#
# which is scale-free, never divides 0 by 0, and is not decided by an entry
# near zero where finite differences have no relative accuracy.
#
# **Implement** `numerical_gradient(f, x, h)`: `f()` takes no argument and
# reads the array `x`, so perturb `x` **in place**, one entry at a time
# (`np.ndindex(*x.shape)` visits every index of any shape), and put each
# entry back. And `rel_error(a, n, floor)`, returning a Python float.
# Stuck? `tinyae exercises hint 4` (three levels).

# %%
import numpy as np


# %% nbgrader={"grade": false, "grade_id": "ex04-gradcheck", "locked": false, "schema_version": 3, "solution": true, "task": false}
def numerical_gradient(f, x, h=1e-6):
    """Central differences of the scalar f() with respect to the array x
    (which f reads). Returns an array shaped like x; x is left unchanged."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        ### BEGIN SOLUTION
        old = x[idx]
        x[idx] = old + h
        f_plus = f()
        x[idx] = old - h
        f_minus = f()
        x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2 * h)
        ### END SOLUTION
    return grad


def rel_error(a, n, floor=1e-10):
    """max|a - n| / max(max(|a| + |n|), floor) as a float."""
    ### BEGIN SOLUTION
    scale = max(float(np.max(np.abs(a) + np.abs(n))), floor)
    return float(np.max(np.abs(a - n))) / scale
    ### END SOLUTION


# %% [markdown]
# ## Check
#
# `tinyae exercises check 4`, or the cell below. The integration part uses
# your checker on tinyae's own Linear + Sigmoid layers: it must certify the
# true gradient and flag one that is 1% off.

# %% nbgrader={"grade": true, "grade_id": "ex04-check", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
if __name__ == "__main__":
    from tinyae.course.exercises import check_here
    check_here(4, globals())
