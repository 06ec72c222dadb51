"""Exercise 16: the t-SNE objective and its gradient: the spec and its
catalogue of mistakes (the source is ``sources/ex16_tsne_grad.py``)."""

import numpy as np

from .... import backend
from .... import functional as F
from ....analysis.tsne import joint_probabilities
from ..specs import F32, F64, Exercise, Mistake
from ..specs import cases_in_both_dtypes as _cases

#: Outputs smaller than this share of the size of the terms they are summed
#: from are rounding noise and count as 0. For n = 2, Q = P whatever Y is, so
#: KL = 0 and dY = 0 exactly, computed as sums of terms that cancel: the
#: reference gives -5.6e-17, a correct answer 0 or 1e-17, and relative to 0
#: no two of them agree.
NOISE = {F64: 1e-12, F32: 1e-5}


def _term_sizes(y, p):
    """The sizes of the terms C and dY are summed from (float64): sum |p log p|
    + sum p log(1 + d^2) + |log Z| for C; for dY, the largest row sum of
    4 (p_ij + q_ij) w_ij |y_i - y_j|."""
    y, p = y.astype(np.float64), p.astype(np.float64)
    diff = y[:, None, :] - y[None, :, :]
    d2 = np.sum(diff * diff, axis=2)
    w = 1.0 / (1.0 + d2)
    np.fill_diagonal(w, 0.0)
    z = w.sum()
    plogp = np.abs(p * np.log(np.where(p > 0, p, 1.0)))
    size_c = plogp.sum() + np.sum(p * np.log1p(d2)) + abs(np.log(z))
    size_dy = 4.0 * np.max(np.sum((p + w / z) * w * np.sqrt(d2), axis=1))
    return size_c, size_dy


def _settled(value, noise):
    """``value`` with the entries below ``noise`` in magnitude set to 0 (nan
    and inf kept); anything that is not a number or an array is left as it is."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return np.where(np.abs(value) < noise, value.dtype.type(0), value)
    if isinstance(value, (float, np.floating)) and abs(value) < noise:
        return 0.0
    return value


def _tsne_program(f, y, p):
    kl, dy = f["tsne_kl_grad"](y, p)
    size_c, size_dy = _term_sizes(y, p)
    noise = NOISE[np.dtype(y.dtype)]
    return {"KL": _settled(kl, noise * size_c), "dY": _settled(dy, noise * size_dy)}


def _joint(rng, n, zeros=0.0):
    """A random joint P: (n, n) symmetric, zero diagonal, summing to 1; about
    a share ``zeros`` of its pairs exactly 0."""
    a = rng.random((n, n)) * (rng.random((n, n)) >= zeros)
    a = np.triu(a, 1)
    a[0, 1] += 0.1                                      # never all zero
    p = a + a.T
    return p / p.sum()


def _tsne_inputs(n, k, scale=1.0, zeros=0.0):
    def make(rng):
        return {"y": scale * rng.standard_normal((n, k)), "p": _joint(rng, n, zeros)}
    return make


def _tsne_fd(f, rng):
    y, p = rng.standard_normal((5, 2)), _joint(rng, 5)
    _, dy = f["tsne_kl_grad"](y, p)
    y3, p3 = rng.standard_normal((4, 3)), _joint(rng, 4, zeros=0.4)
    _, dy3 = f["tsne_kl_grad"](y3, p3)
    return {"KL, n 5, 2-D": (lambda: float(f["tsne_kl_grad"](y, p)[0]), {"y": y}, {"y": dy}),
            "KL, n 4, 3-D, P with zeros": (lambda: float(f["tsne_kl_grad"](y3, p3)[0]),
                                            {"y": y3}, {"y": dy3})}


def _descent(tsne_kl_grad, steps=80, lr=2.0, momentum=0.5):
    """Gradient descent with momentum on 24 points in three clusters (5-D,
    perplexity 5) from a fixed small start: (KL at the start, KL at the end)."""
    rng = np.random.default_rng(16)
    centres = 4.0 * rng.standard_normal((3, 5))
    x = np.repeat(centres, 8, axis=0) + rng.standard_normal((24, 5))
    with backend.use("numpy"):                          # no Numba compile for one P
        p = joint_probabilities(x, 5.0)
    y = 1e-2 * rng.standard_normal((24, 2))
    update = np.zeros_like(y)
    first = None
    for _ in range(steps):
        kl, dy = tsne_kl_grad(y, p)
        first = kl if first is None else first
        update = momentum * update - lr * np.asarray(dy, dtype=np.float64)
        y = y + update
    return float(first), float(tsne_kl_grad(y, p)[0])


#: Relative tolerance of the descent's final KL against the reference's.
DESCENT_RTOL = 1e-6


def _tsne_integration(f):
    start, end = _descent(f["tsne_kl_grad"])
    _, ref_end = _descent(F.tsne_kl_grad)
    rel = abs(end - ref_end) / abs(ref_end)
    passed = bool(np.isfinite(end) and rel < DESCENT_RTOL)
    return [{"passed": passed, "student": end, "reference": ref_end, "tol": DESCENT_RTOL,
             "text": f"80 steps of gradient descent on 24 points in three clusters with "
                     f"your gradient: KL from {start:.4f} to {end:.6f} (the library's "
                     f"gradient: {ref_end:.6f}; relative difference {rel:.1e}, must be "
                     f"< {DESCENT_RTOL:g}): {'pass' if passed else 'FAIL'}"}]


def _tsne_variant(factor=4.0, diagonal=False, kernel="t", w_in_grad=True, sign=1.0,
                  plain_log=False, per_row=False):
    def tsne_kl_grad(y, p):
        diff = y[:, None, :] - y[None, :, :]
        d2 = np.sum(diff * diff, axis=2)
        w = np.exp(-d2) if kernel != "t" else 1.0 / (1.0 + d2)
        if not diagonal:
            np.fill_diagonal(w, 0.0)
        q = w / (w.sum(axis=1, keepdims=True) if per_row else w.sum())
        if plain_log:
            kl = float(np.sum(p * np.log(p / q)))
        else:
            kept = p > 0
            kl = float(np.sum(p[kept] * np.log(p[kept] / q[kept])))
        m = (p - q) * w if w_in_grad and kernel != "sne" else p - q
        return kl, (sign * factor * np.einsum("ij,ijk->ik", m, diff)).astype(y.dtype)
    return {"tsne_kl_grad": tsne_kl_grad}


_EINSUM = 'dy = 4.0 * np.einsum("ij,ijk->ik", (p - q) * w, diff)'
_MATRIX = ("m = (p - q) * w\n    dy = {} * (m.sum(axis=1)[:, None] * y - m @ y)")

TSNE_GRAD = Exercise(
    number=16, slug="tsne_grad", title="the t-SNE objective and its gradient",
    functions=("tsne_kl_grad",), reference={"tsne_kl_grad": F.tsne_kl_grad},
    program=_tsne_program,
    cases=lambda rng: _cases(rng, [
        ("n 7, 2-D", _tsne_inputs(7, 2)), ("n 2 (Q = P: KL 0, dY 0)", _tsne_inputs(2, 2)),
        ("n 9, 1-D", _tsne_inputs(9, 1)), ("n 6, 3-D", _tsne_inputs(6, 3)),
        ("points far apart (distances ~40)", _tsne_inputs(8, 2, scale=30.0)),
        ("P with zero entries", _tsne_inputs(10, 2, zeros=0.6)),
        ("n 25, 2-D", _tsne_inputs(25, 2))]),
    fd=_tsne_fd, integration=_tsne_integration,
    mistakes=(
        Mistake("missing_factor_4",
                "your dY is 4 times too small: count how often each pair's w_ij enters "
                "the sums over ordered pairs, and what differentiating w_ij brings out",
                _tsne_variant(factor=1.0),
                ((_EINSUM, _EINSUM.replace("4.0 * ", "")),),
                forms=(((_EINSUM, _MATRIX.format("1.0")),),)),
        Mistake("factor_2",
                "your dY is half the true one: each unordered pair {i, j} appears twice "
                "in the sums over ordered pairs, as (i, j) and as (j, i), so y_i receives "
                "its term from both",
                _tsne_variant(factor=2.0),
                ((_EINSUM, _EINSUM.replace("4.0", "2.0")),),
                forms=(((_EINSUM, _MATRIX.format("2.0")),),)),
        Mistake("q_with_diagonal",
                "your Z counts the pairs (i, i): w_ii = 1 / (1 + 0) = 1 must be left out, "
                "Z is the sum over a != b only (a point is not its own neighbour)",
                _tsne_variant(diagonal=True),
                (("    np.fill_diagonal(w, 0.0)\n", ""),),
                forms=((("    np.fill_diagonal(w, 0.0)\n    q = w / w.sum()",
                         "    q = w / np.sum(1.0 / (1.0 + d2))\n    np.fill_diagonal(w, 0.0)"),),)),
        Mistake("gaussian_kernel",
                "your Q uses a Gaussian kernel exp(-|y_i - y_j|^2): that is SNE's; t-SNE's "
                "map uses the heavy-tailed Student-t, w_ij = 1 / (1 + |y_i - y_j|^2), which "
                "lets moderately distant points sit far apart",
                (_tsne_variant(kernel="gauss"), _tsne_variant(kernel="sne")),
                (("w = 1.0 / (1.0 + d2)", "w = np.exp(-d2)"),),
                forms=((("w = 1.0 / (1.0 + d2)", "w = np.exp(-np.sum(diff ** 2, axis=2))"),),)),
        Mistake("w_missing_in_gradient",
                "your dY is missing the factor w_ij = (1 + |y_i - y_j|^2)^-1 in each pair's "
                "term: differentiate w_ij = (1 + d_ij^2)^-1 with the chain rule and write the "
                "result with w_ij itself",
                _tsne_variant(w_in_grad=False),
                ((_EINSUM, _EINSUM.replace("(p - q) * w", "p - q")),),
                forms=(((_EINSUM, "m = p - q\n    dy = 4.0 * (m.sum(axis=1)[:, None] * y "
                                  "- m @ y)"),),)),
        Mistake("sign",
                "your dY has the wrong sign: it points downhill; a pair with p_ij > q_ij "
                "should pull y_i towards y_j when you step along -dY",
                _tsne_variant(sign=-1.0),
                ((_EINSUM, _EINSUM.replace("4.0", "-4.0")),),
                forms=((("diff = y[:, None, :] - y[None, :, :]",
                         "diff = y[None, :, :] - y[:, None, :]"),),)),
        Mistake("zero_p_log",
                "your KL is nan: p log(p / q) is 0 * log(0 / 0) on the diagonal (and 0 * "
                "-inf where p_ij = 0); a pair with p_ij = 0 adds nothing, so leave those "
                "pairs out of the sum",
                _tsne_variant(plain_log=True),
                (("float(np.sum(p[kept] * np.log(p[kept] / q[kept])))",
                  "float(np.sum(p * np.log(p / q)))"),),
                forms=((("float(np.sum(p[kept] * np.log(p[kept] / q[kept])))",
                         "float(np.sum(p * (np.log(p) - np.log(q))))"),),)),
        Mistake("q_per_row",
                "you normalised Q row by row (q_{j|i}, as SNE's conditional affinities): "
                "t-SNE's Q is one joint distribution, w_ij divided by the sum over all "
                "pairs",
                _tsne_variant(per_row=True),
                (("q = w / w.sum()", "q = w / w.sum(axis=1, keepdims=True)"),),
                forms=((("q = w / w.sum()", "q = w / w.sum(axis=1)[:, None]"),),)),
    ))


#: The hints, level 1 (where to start) to 3 (the formula): Markdown with
#: $...$ maths, shown by ``tinyae exercises hint`` and the course book.
HINTS = (
    r"""Since $\log q_{ij} = \log w_{ij} - \log Z$ and the $p_{ij}$ sum to 1,

$$C = \sum_{i \ne j} p_{ij} \log p_{ij} - \sum_{i \ne j} p_{ij} \log w_{ij} + \log Z .$$

The first sum is a constant. Now fix one point $i$: only the $w_{ab}$ with $a = i$ or
$b = i$ move when $y_i$ moves. Write $d_{ij} = \lVert y_i - y_j \rVert$ and
differentiate $w_{ij} = (1 + d_{ij}^2)^{-1}$ with respect to the vector $y_i$.""",
    r"""$\partial d_{ij}^2 / \partial y_i = 2 (y_i - y_j)$, so
$\partial w_{ij} / \partial y_i = -2 w_{ij}^2 (y_i - y_j)$ and
$\partial \log w_{ij} / \partial y_i = -2 w_{ij} (y_i - y_j)$. Each unordered pair
appears twice in a sum over ordered pairs (as $ij$ and $ji$, with $p_{ij} = p_{ji}$,
$w_{ij} = w_{ji}$), which doubles what $y_i$ gets from both sums. The $\log Z$ term
gives a sum weighted by $w_{ij}^2 / Z = q_{ij} w_{ij}$. In NumPy, build
`diff = y[:, None, :] - y[None, :, :]` ($n \times n \times k$) and contract an
$(n, n)$ weight matrix with it (`np.einsum("ij,ijk->ik", M, diff)`).""",
    r"""$$\frac{\partial C}{\partial y_i} = 4 \sum_j (p_{ij} - q_{ij})\, w_{ij}\, (y_i - y_j),
\qquad w_{ij} = (1 + \lVert y_i - y_j \rVert^2)^{-1},$$

attraction along $p$, repulsion along $q$ (the paper's equation 5). With the diagonal of
`w` set to 0 and `q = w / w.sum()`: `dy = 4.0 * np.einsum("ij,ijk->ik", (p - q) * w, diff)`,
and the KL summed over the pairs with $p_{ij} > 0$ only.""",
)
