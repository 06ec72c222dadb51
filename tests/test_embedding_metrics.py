"""Trustworthiness and k-NN accuracy on cases with known answers, against
the definition computed the slow way, and the boundary checks; the exact
nearest neighbours from blocks of distances and the neighbour ops' twins;
plus the rectangle-outline images of ``tinyae.data``."""

import numpy as np
import pytest

from tinyae import functional, kernels
from tinyae.analysis import embedding_metrics
from tinyae.data import rectangle_outlines
from tinyae.analysis.embedding_metrics import (knn_accuracy, nearest_neighbours, neighbour_ranks,
                                               squared_distances, trustworthiness)


def _trustworthiness_by_definition(x, y, k):
    """T(k) by loops over the definition (Venna and Kaski, 2001)."""
    n = len(x)
    dx = ((x[:, None] - x[None]) ** 2).sum(-1)
    dy = ((y[:, None] - y[None]) ** 2).sum(-1)
    total = 0
    for i in range(n):
        others = [j for j in range(n) if j != i]
        by_x = sorted(others, key=lambda j: (dx[i, j], j))
        rank = {j: r + 1 for r, j in enumerate(by_x)}
        near_y = sorted(others, key=lambda j: (dy[i, j], j))[:k]
        total += sum(rank[j] - k for j in near_y if rank[j] > k)
    return 1 - 2 * total / (n * k * (2 * n - 3 * k - 1))


def test_squared_distances(rng):
    a, b = rng.standard_normal((5, 3)), rng.standard_normal((4, 3))
    np.testing.assert_allclose(squared_distances(a, b),
                               ((a[:, None] - b[None]) ** 2).sum(-1), rtol=1e-12)
    d = squared_distances(a)
    np.testing.assert_array_equal(np.diag(d), 0.0)
    assert np.all(d >= 0) and d.dtype == np.float64


def test_neighbour_ranks_on_a_line():
    x = np.array([[0.0], [1.0], [3.0], [7.0]])
    np.testing.assert_array_equal(neighbour_ranks(x), [[0, 1, 2, 3],
                                                       [1, 0, 2, 3],
                                                       [2, 1, 0, 3],
                                                       [3, 2, 1, 0]])


def test_identity_and_similarity_embeddings_are_perfectly_trustworthy(rng):
    x = rng.standard_normal((60, 5))
    q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    for k in (1, 5, 20):
        assert trustworthiness(x, x, k) == 1.0
        assert trustworthiness(x, 3.0 * x @ q + 1.0, k) == 1.0   # rotate, scale, shift


@pytest.mark.parametrize("k", [1, 3, 7])
def test_trustworthiness_matches_the_definition(k, rng):
    x, y = rng.standard_normal((25, 4)), rng.standard_normal((25, 2))
    got = trustworthiness(x, y, k)
    assert got == pytest.approx(_trustworthiness_by_definition(x, y, k), abs=1e-12)
    assert got == trustworthiness(x, y, k, ranks=neighbour_ranks(x))


def test_random_embeddings_score_about_one_half(rng):
    x = rng.standard_normal((400, 10))
    t = trustworthiness(x, rng.standard_normal((400, 2)), 5)
    assert 0.4 < t < 0.6


def test_a_projection_that_merges_layers_loses_trust(rng):
    """Two parallel sheets 10 apart in z, dropped onto the plane z = 0: a
    point's embedded neighbours come from both sheets, half of them far."""
    sheet = rng.uniform(0, 1, size=(100, 2))
    x = np.concatenate([np.c_[sheet, np.zeros(100)], np.c_[sheet + 1e-3, 10 * np.ones(100)]])
    assert trustworthiness(x, x, 5) == 1.0
    assert trustworthiness(x, x[:, :2], 5) < 0.8


def test_knn_accuracy_known_cases(rng):
    # two well separated clusters: every neighbour has the right label
    x = np.concatenate([rng.standard_normal((20, 2)), rng.standard_normal((20, 2)) + 50])
    labels = np.repeat([0, 1], 20)
    assert knn_accuracy(x, labels, 5) == 1.0
    # alternating labels on a line: each point's nearest neighbour disagrees
    line = np.arange(10.0)[:, None]
    assert knn_accuracy(line, np.arange(10) % 2, 1) == 0.0
    # k = 2, labels (1, 3, 1, 3): point 0's neighbours carry labels 3 and 1, a
    # tie, won by the smaller label 1 (right); point 1's carry 1, 1 (wrong);
    # point 2's 1, 3 -> 1 (right); point 3's 3, 1 -> 1 (wrong)
    pts = np.array([[0.0], [1.0], [-1.1], [20.0]])
    assert knn_accuracy(pts, np.array([1, 3, 1, 3]), 2) == 0.5


def test_trustworthiness_without_ranks_uses_blocks_and_agrees(monkeypatch, each_backend, rng):
    """Without ``ranks`` only the embedded neighbours' ranks are computed,
    a block of rows at a time (blocks of 3 rows here): the same T, ties
    included (points on a grid of 3 x 3 values)."""
    monkeypatch.setattr(embedding_metrics, "BLOCK_ENTRIES", 3 * 50)
    x = rng.integers(0, 3, size=(50, 2)).astype(np.float64)
    y = rng.standard_normal((50, 2))
    for k in (1, 4, 20):
        assert trustworthiness(x, y, k) == trustworthiness(x, y, k, ranks=neighbour_ranks(x))


@pytest.mark.parametrize("kind", ["random", "ties"])
@pytest.mark.parametrize("k", [1, 4, 29])
def test_neighbour_ops_agree_and_order_by_value_then_column(kind, k, rng):
    d = rng.standard_normal((13, 30)) if kind == "random" else \
        rng.integers(0, 3, size=(13, 30)).astype(np.float64)
    d[0, 5], d[1, :3] = np.inf, -np.inf
    idx, val = functional.smallest_k(d, k)
    np.testing.assert_array_equal(idx, np.array([sorted(range(30), key=lambda j: (row[j], j))[:k]
                                                 for row in d]))
    np.testing.assert_array_equal(val, np.take_along_axis(d, idx, 1))
    twin_idx, twin_val = kernels.smallest_k(d, k)
    np.testing.assert_array_equal(twin_idx, idx)
    np.testing.assert_array_equal(twin_val, val)
    cols = rng.integers(0, 30, size=(13, 5))
    order = np.argsort(d, axis=1, kind="stable")
    position = np.argsort(order, axis=1)                   # position of each column
    expected = np.take_along_axis(position, cols, 1)
    np.testing.assert_array_equal(functional.rank_in_row(d, cols), expected)
    np.testing.assert_array_equal(kernels.rank_in_row(d, cols), expected)


def test_nearest_neighbours_are_exact_with_ties_by_index(monkeypatch, each_backend, rng):
    monkeypatch.setattr(embedding_metrics, "BLOCK_ENTRIES", 4 * 65)     # blocks of 4 rows
    x = np.concatenate([rng.integers(0, 3, size=(40, 2)), rng.standard_normal((25, 2))])
    idx, d2 = nearest_neighbours(x.astype(np.float64), 6)
    full = squared_distances(x.astype(np.float64))
    for i in range(len(x)):
        expected = sorted((j for j in range(len(x)) if j != i), key=lambda j: (full[i, j], j))
        assert list(idx[i]) == expected[:6]
    np.testing.assert_allclose(d2, np.take_along_axis(full, idx, 1), atol=1e-12)



@pytest.mark.parametrize("call, match", [
    (lambda x: trustworthiness(x, x, 5), r"k must satisfy k < n / 2 for n = 10 points, got k = 5"),
    (lambda x: trustworthiness(x, x[:9], 2), r"x must have shape \(9, \*\), got \(10, 3\)"),
    (lambda x: trustworthiness(x, x, 0), "k must be a positive integer, got 0"),
    (lambda x: knn_accuracy(x, np.zeros(10, int), 10), r"k must satisfy k <= n - 1 .* got k = 10"),
    (lambda x: knn_accuracy(x, np.zeros(9, int), 3), r"labels must be \(10,\) non-negative"),
    (lambda x: knn_accuracy(x, np.zeros(10), 3), "dtype float64"),
    (lambda x: trustworthiness(x, x, 2, ranks=np.zeros((3, 3))), r"ranks must be neighbour_ranks"),
])
def test_bad_arguments_raise(call, match, rng):
    with pytest.raises(ValueError, match=match):
        call(rng.standard_normal((10, 3)))


def test_rectangle_outlines(rng):
    x = rectangle_outlines(50, rng=rng)
    assert x.shape == (50, 784) and x.dtype == np.float32
    assert set(np.unique(x)) == {0.0, 1.0}
    img = x.reshape(50, 28, 28)
    box = np.zeros((28, 28), bool)
    box[4:24, 4:24] = True
    assert not img[:, ~box].any()                       # nothing outside the central box
    assert np.all(img.sum(axis=(1, 2)) >= 20)           # at least one 6x6 outline
    a = rectangle_outlines(3, rng=np.random.default_rng(5), count=1, stroke=1)
    b = rectangle_outlines(3, rng=np.random.default_rng(5), count=1, stroke=1)
    np.testing.assert_array_equal(a, b)
    one = a[0].reshape(28, 28)
    rows, cols = np.nonzero(one)                        # an outline: interior empty
    assert one[rows.min() + 1:rows.max(), cols.min() + 1:cols.max()].sum() == 0
    assert one.sum() == 2 * (np.ptp(rows) + 1) + 2 * (np.ptp(cols) + 1) - 4
    with pytest.raises(ValueError, match="stroke must be 1 or 2.*got 3"):
        rectangle_outlines(2, rng=rng, stroke=3)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        rectangle_outlines(2, rng=0)
