"""Exercises 16-18 (t-SNE's gradient, Huffman code lengths, the fitted
Gaussian): correct answers written otherwise pass, near misses fail.

Each checks in this process, as ``tests/test_exercises.py`` does; the
student folder round trip of every exercise is tested there.
"""

from collections import deque

import numpy as np
import pytest

from tinyae.analysis.compression import huffman_lengths
from tinyae.course.exercises import EXERCISES, solution_source
from tinyae.course.exercises.checker import format_result
from tinyae.course.exercises.specs import check_functions


def _solution(number):
    namespace = {"__name__": "solution"}
    exec(compile(solution_source(number), "solution.py", "exec"), namespace)
    return {n: namespace[n] for n in EXERCISES[number].functions}


# --------------------------------------------------------------------------
# 16: t-SNE
# --------------------------------------------------------------------------

def classic_tsne(y, p):
    """The way many t-SNE codes write it: squared distances expanded as
    |a|^2 - 2 a.b + |b|^2 (not exactly symmetric), one point at a time."""
    n = y.shape[0]
    sum_y = np.sum(y * y, axis=1)
    num = 1.0 / (1.0 + ((-2.0 * y @ y.T) + sum_y).T + sum_y)
    num[range(n), range(n)] = 0.0
    q = num / num.sum()
    dy = np.zeros_like(y)
    for i in range(n):
        dy[i] = 4.0 * np.sum(((p[:, i] - q[:, i]) * num[:, i])[:, None] * (y[i] - y), axis=0)
    kept = p > 0
    return float(np.sum(p[kept] * np.log(p[kept] / np.maximum(q[kept], 1e-300)))), dy


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tsne_written_the_classic_way_passes(seed):
    result = check_functions(EXERCISES[16], {"tsne_kl_grad": classic_tsne}, seed=seed,
                             integration=seed == 0)
    assert result["status"] == "pass", format_result(result)


def _tsne_off(kl_n2=0.0, dy_factor=1.0):
    tsne_kl_grad = _solution(16)["tsne_kl_grad"]

    def off(y, p):
        kl, dy = tsne_kl_grad(y, p)
        return kl + (kl_n2 if y.shape[0] == 2 else 0.0), (dy * dy_factor).astype(dy.dtype)
    return {"tsne_kl_grad": off}


def test_tsne_n2_rounding_passes_and_a_real_difference_fails():
    """For n = 2 the KL is exactly 0: 1e-17 of rounding passes (the
    reference's own is -5.6e-17), 1e-9 is no rounding and fails."""
    ex = EXERCISES[16]
    ok = check_functions(ex, _tsne_off(kl_n2=1e-17), seed=0, integration=False)
    assert ok["values"]["passed"], format_result(ok)
    miss = check_functions(ex, _tsne_off(kl_n2=1e-9), seed=0, integration=False)
    assert miss["values"]["wrong"] == ["KL"], format_result(miss)
    assert "n 2" in miss["differences"][0]


def test_tsne_descent_fails_a_gradient_1e_5_off():
    ex = EXERCISES[16]
    for factor, ok in ((1 + 1e-8, True), (1 + 1e-5, False)):
        [run] = ex.integration(_tsne_off(dy_factor=factor))
        assert run["passed"] is ok, run["text"]


# --------------------------------------------------------------------------
# 17: Huffman code lengths
# --------------------------------------------------------------------------

def two_queues(counts):
    """Van Leeuwen's two queues: leaves sorted by count, joined trees in
    order of making; on a tie the leaf goes first (the library's heap takes
    the tree holding the smallest symbol)."""
    counts = np.asarray(counts)
    lengths = np.zeros(counts.size, dtype=np.int64)
    order = sorted((int(c), s) for s, c in enumerate(counts) if c > 0)
    leaves, joined = deque((c, [s]) for c, s in order), deque()
    if len(leaves) == 1:
        lengths[leaves[0][1]] = 1
        return lengths

    def lightest():
        take_leaf = leaves and (not joined or leaves[0][0] <= joined[0][0])
        return (leaves if take_leaf else joined).popleft()
    while len(leaves) + len(joined) > 1:
        (c1, a), (c2, b) = lightest(), lightest()
        lengths[a + b] += 1
        joined.append((c1 + c2, a + b))
    return lengths


def largest_symbol_first(counts):
    """A heap whose ties go to the largest symbol, depths by a tree walk."""
    import heapq
    lengths = np.zeros(len(counts), dtype=np.int32)
    heap = [(int(c), -s, s) for s, c in enumerate(counts) if c > 0]
    heapq.heapify(heap)
    while len(heap) > 1:
        c1, t1, a = heapq.heappop(heap)
        c2, t2, b = heapq.heappop(heap)
        heapq.heappush(heap, (c1 + c2, min(t1, t2), (a, b)))
    stack = [(heap[0][2], 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, tuple):
            stack += [(node[0], depth + 1), (node[1], depth + 1)]
        else:
            lengths[node] = max(depth, 1)
    return lengths


@pytest.mark.parametrize("other", [two_queues, largest_symbol_first])
def test_huffman_with_other_tie_breaking_passes(other):
    ex = EXERCISES[17]
    cases = ex.cases(np.random.default_rng(0))
    differ = [c.label for c in cases if not np.array_equal(
        other(c.inputs["counts"]), huffman_lengths(c.inputs["counts"]))]
    assert "ties: counts (1, 1, 2, 2)" in differ          # other lengths, not a copy
    result = check_functions(ex, {"huffman_lengths": other}, seed=0)
    assert result["status"] == "pass", format_result(result)


def test_huffman_one_length_off_fails():
    ex = EXERCISES[17]
    solution = _solution(17)["huffman_lengths"]

    def off(counts):
        lengths = solution(counts)
        lengths[np.argmax(counts)] += 1                    # the most frequent symbol
        return lengths
    result = check_functions(ex, {"huffman_lengths": off}, seed=0)
    assert not result["values"]["passed"] and not result["integration"]["passed"]
    assert "mean length" in result["values"]["wrong"]


# --------------------------------------------------------------------------
# 18: the fitted Gaussian
# --------------------------------------------------------------------------

def fit_with_np_cov(codes):
    cov = np.atleast_2d(np.cov(codes, rowvar=False)).astype(codes.dtype)
    return codes.mean(axis=0), cov


def sample_by_columns(mean, cov, eps):
    lower = np.linalg.cholesky(cov)
    return (mean[:, None] + lower @ eps.T).T


def test_fitted_gaussian_written_otherwise_passes():
    funcs = {"fit_gaussian": fit_with_np_cov, "sample_gaussian": sample_by_columns}
    result = check_functions(EXERCISES[18], funcs, seed=0)
    assert result["status"] == "pass", format_result(result)


def test_moment_test_fails_draws_spread_5_percent_too_wide():
    ex = EXERCISES[18]
    funcs = _solution(18)
    for factor, ok in ((1.02, True), (1.05, False)):
        def wide(mean, cov, eps, factor=factor):
            return mean + factor * (funcs["sample_gaussian"](mean, cov, eps) - mean)
        [run] = ex.integration(dict(funcs, sample_gaussian=wide))
        assert run["passed"] is ok, run["text"]
