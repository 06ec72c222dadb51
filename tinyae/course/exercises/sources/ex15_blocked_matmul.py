# %% [markdown]
# # Exercise 15: a blocked matrix product
#
# Goes with lesson 09 (`lessons/09_kernels.py`), whose GEMM ladder builds a fast
# matrix product from loops over tiles around a small micro-kernel.
#
# The product of $A: (m, k)$ and $B: (k, n)$ is
#
# $$C = AB: (m, n), \qquad C_{ij} = \sum_{p=1}^{k} A_{ip} B_{pj}.$$
#
# A blocked product computes it one tile at a time, so that the tiles it
# works on stay in a fast cache: the rows $1..m$, the columns $1..n$ and the
# shared dimension $1..k$ are each cut into consecutive pieces of `block`
# indices (the last piece shorter when the size is not a multiple of
# `block`), and the work is done on the sub-matrices these pieces cut out.
#
# **Derive** the blocked form: write the sum over $p$ in $C_{ij}$ as a sum
# over the pieces of $1..k$, then write one tile of $C$ (its rows one piece
# $I$, its columns one piece $J$) with tiles of $A$ and $B$. Which tiles of
# $A$ and $B$ does the tile $C[I, J]$ need, and how are their contributions
# combined? Check your loops on the awkward shapes before you run anything:
# sizes that are not multiples of `block`, `block = 1`, `block` larger than
# every size, one row, one column, $k = 1$.
#
# The tile product is given: `kernel(a, b)` returns `a @ b` for a tile `a`
# of $A$ (rows, depth) and a tile `b` of $B$ (depth, columns), as the
# micro-kernel of lesson 09 does. The checker's kernel takes tiles of at most
# `block` rows and columns and counts the multiply-adds it does: every one of
# the $m k n$ of the product must go through it exactly once, so write no
# product of your own (`@`, `np.dot`) and let `kernel` do every multiplication.
#
# **Implement** `blocked_matmul(A, B, block, kernel) -> C`, with loops over the
# tiles, `C` of shape $(m, n)$ in the dtype of the inputs.
# Stuck? `tinyae exercises hint 15` (three levels; the last gives the loops).

# %%
import numpy as np


# %% nbgrader={"grade": false, "grade_id": "ex15-blocked-matmul", "locked": false, "schema_version": 3, "solution": true, "task": false}
def blocked_matmul(A, B, block, kernel):
    """A: (m, k), B: (k, n), block: tile size >= 1, kernel(a, b) = a @ b for
    two tiles -> C = A B: (m, n), in A's dtype."""
    m, k = A.shape
    n = B.shape[1]
    ### BEGIN SOLUTION
    C = np.zeros((m, n), dtype=A.dtype)
    for i0 in range(0, m, block):
        for j0 in range(0, n, block):
            for p0 in range(0, k, block):
                C[i0:i0 + block, j0:j0 + block] += kernel(A[i0:i0 + block, p0:p0 + block],
                                                          B[p0:p0 + block, j0:j0 + block])
    ### END SOLUTION
    return C


# %% [markdown]
# ## Check
#
# `tinyae exercises check 15`, or the cell below. To try your function by
# hand, pass `kernel=np.matmul` and compare with `A @ B`.

# %% nbgrader={"grade": true, "grade_id": "ex15-check", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
if __name__ == "__main__":
    from tinyae.course.exercises import check_here
    check_here(15, globals())
