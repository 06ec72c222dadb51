# %% [markdown]
# # Exercise 17: Huffman code lengths
#
# Goes with lesson 13 (`lessons/13_search_hashing_compression.py`), which
# quantises codes and Huffman-codes them into bits.
#
# A prefix code gives symbol $s$ a codeword of $l_s$ bits, no codeword the
# beginning of another; it is a binary tree whose leaves are the symbols, and
# $l_s$ is the number of edges from the root down to leaf $s$. Given the
# counts $c_s \ge 0$ of $k$ symbols, Huffman's algorithm (1952) finds the
# lengths that minimise the total length $\sum_s c_s l_s$: start with one
# tree per symbol that occurs, weighted by its count; repeatedly take the two
# trees of **smallest** weight and join them under a new root whose weight is
# their sum; stop when one tree is left.
#
# **Work out** before you write:
#
# 1. When two trees are joined, which leaves get one edge further from the
#    root, and by how much does each length grow?
# 2. A symbol with count 0 never occurs: what length do you give it?
# 3. Only one symbol occurs: the tree is a single leaf, yet the decoder must
#    read at least one bit per symbol. What length do you give it?
# 4. With ties (equal weights) there is a choice. Try counts $(1, 1, 2, 2)$ both
#    ways: are the lengths the same? Is $\sum_s c_s l_s$?
#
# The checker grades what every optimal code shares: the mean length
# $\sum_s c_s l_s / \sum_s c_s$ (bits per symbol), the Kraft sum
# $\sum_{c_s > 0} 2^{-l_s}$, the mean length with the lengths re-sorted
# against the counts, and the lengths of the symbols that never occur. Any
# way of breaking ties passes.
#
# **Implement** `huffman_lengths(counts) -> lengths`: `counts` a 1-D integer
# array with at least one positive entry, `lengths` an integer array shaped
# like it. Python's `heapq` (a priority queue: `heappush`, `heappop`,
# `heapify`) keeps the trees ordered by weight. Do not change `counts`.
# Stuck? `tinyae exercises hint 17` (three levels).

# %%
import heapq  # noqa: F401  (for your code)

import numpy as np


# %% nbgrader={"grade": false, "grade_id": "ex17-huffman", "locked": false, "schema_version": 3, "solution": true, "task": false}
def huffman_lengths(counts):
    """counts: (k,) integers >= 0, at least one positive -> (k,) int64 code
    lengths, 0 for the symbols whose count is 0."""
    ### BEGIN SOLUTION
    lengths = np.zeros(len(counts), dtype=np.int64)
    # one tree per symbol that occurs: (weight, smallest symbol, its leaves)
    heap = [(int(c), s, [s]) for s, c in enumerate(counts) if c > 0]
    if len(heap) == 1:
        lengths[heap[0][1]] = 1
        return lengths
    heapq.heapify(heap)
    while len(heap) > 1:
        c1, t1, leaves1 = heapq.heappop(heap)
        c2, t2, leaves2 = heapq.heappop(heap)
        lengths[leaves1 + leaves2] += 1
        heapq.heappush(heap, (c1 + c2, min(t1, t2), leaves1 + leaves2))
    return lengths
    ### END SOLUTION


# %% [markdown]
# ## Check
#
# `tinyae exercises check 17`, or the cell below: counts with ties, zeros,
# one symbol, powers of two and Fibonacci numbers, in int64 and int32, and
# a round trip through the library's canonical coder with your lengths.

# %% nbgrader={"grade": true, "grade_id": "ex17-check", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
if __name__ == "__main__":
    from tinyae.course.exercises import check_here
    check_here(17, globals())
