"""Exercise 15: a blocked matrix product, the loops around a micro-kernel:
the spec and its catalogue of mistakes (the source is
``sources/ex15_blocked_matmul.py``)."""

import numpy as np

from ..specs import Exercise, Mistake
from ..specs import cases_in_both_dtypes as _cases


class Kernel:
    """The micro-kernel handed to the student's loops: ``kernel(a, b)`` is
    the product ``a @ b`` of two tiles of at most ``block`` rows and
    columns, and ``work`` counts the multiply-adds it has done. Tiles that
    do not fit (a's columns not b's rows) or are larger than ``block``
    raise RuntimeError, the type a raising callback has in the checker's
    child process too."""

    def __init__(self, block):
        self.block, self.work = block, 0

    def __call__(self, a, b):
        a, b = np.asarray(a), np.asarray(b)
        if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
            raise RuntimeError(f"kernel: the tiles do not fit: a is {a.shape}, b is "
                               f"{b.shape}; a tile of A (rows, depth) times a tile of B "
                               f"(depth, columns)")
        if max(a.shape + b.shape) > self.block:
            raise RuntimeError(f"kernel: a tile larger than block = {self.block}: a is "
                               f"{a.shape}, b is {b.shape}")
        self.work += a.shape[0] * a.shape[1] * b.shape[1]
        return a @ b


def blocked_reference(A, B, block, kernel):
    """C = A B from tile products: C[I, J] = sum over the depth tiles P of
    A[I, P] B[P, J], tiles of ``block`` rows and columns (the edge tiles
    smaller), the depth loop outermost as in Goto's scheme (lesson 09's
    packed rung): each depth panel of A and B is used once, for all of C.
    The same sums as A @ B in another order: within about 1e-15 of it,
    relative, in float64."""
    m, k = A.shape
    n = B.shape[1]
    C = np.zeros((m, n), dtype=A.dtype)
    for p in (slice(p0, p0 + block) for p0 in range(0, k, block)):
        for i in (slice(i0, i0 + block) for i0 in range(0, m, block)):
            for j in (slice(j0, j0 + block) for j0 in range(0, n, block)):
                C[i, j] += kernel(A[i, p], B[p, j])
    return C


def _matmul_program(f, A, B, block):
    kernel = Kernel(block)
    C = f["blocked_matmul"](A, B, block, kernel)
    return {"C": C, "multiply_adds": kernel.work}


def _matmul_inputs(m, k, n, block):
    def make(rng):
        return {"A": rng.standard_normal((m, k)), "B": rng.standard_normal((k, n)),
                "block": block}
    return make


def _variant(bounds="full", accumulate=True, depth_bound="k", a_index="ip", b_index="pj",
             dtype="input", kernel=True):
    """blocked_reference with a mistake: ``bounds`` "full" or "whole tiles
    only"; ``accumulate`` False: each depth tile's product assigned;
    ``depth_bound`` "k" or "n"; ``a_index`` / ``b_index`` "ip", "pj" or
    transposed ("pi", "jp"); ``dtype`` "input" or "float64"; ``kernel``
    False: A @ B, no tiles at all; "whole": the whole product in one call
    of the kernel."""
    def blocked_matmul(A, B, block, kern):
        if kernel == "whole":
            return kern(A, B)
        if not kernel:
            return A @ B
        m, k = A.shape
        n = B.shape[1]
        C = np.zeros((m, n), dtype=A.dtype if dtype == "input" else np.float64)

        def ends(size):
            return size if bounds == "full" else size - block + 1
        for i0 in range(0, ends(m), block):
            for j0 in range(0, ends(n), block):
                for p0 in range(0, ends(k if depth_bound == "k" else n), block):
                    i, j, p = (slice(i0, i0 + block), slice(j0, j0 + block),
                               slice(p0, p0 + block))
                    tile = kern(A[i, p] if a_index == "ip" else A[p, i],
                                B[p, j] if b_index == "pj" else B[j, p].T)
                    if accumulate:
                        C[i, j] += tile
                    else:
                        C[i, j] = tile
        return C
    return {"blocked_matmul": blocked_matmul}


_LOOP = ("C[i0:i0 + block, j0:j0 + block] += kernel(A[i0:i0 + block, p0:p0 + block],\n"
         "                                                          "
         "B[p0:p0 + block, j0:j0 + block])")

BLOCKED_MATMUL = Exercise(
    number=15, slug="blocked_matmul", title="a blocked matrix product",
    functions=("blocked_matmul",), reference={"blocked_matmul": blocked_reference},
    program=_matmul_program,
    cases=lambda rng: _cases(rng, [
        ("5x7 times 7x3, block 2", _matmul_inputs(5, 7, 3, 2)),
        ("13x10 times 10x7, block 4", _matmul_inputs(13, 10, 7, 4)),
        ("8x8 times 8x8, block 4", _matmul_inputs(8, 8, 8, 4)),
        ("6x6 times 6x6, block 4", _matmul_inputs(6, 6, 6, 4)),
        ("one row: 1x9 times 9x4, block 4", _matmul_inputs(1, 9, 4, 4)),
        ("block 1: 4x3 times 3x5", _matmul_inputs(4, 3, 5, 1)),
        ("block 16, larger than the matrices: 3x4 times 4x2", _matmul_inputs(3, 4, 2, 16)),
        ("depth 1: 6x1 times 1x5, block 3", _matmul_inputs(6, 1, 5, 3)),
        ("one column: 5x4 times 4x1, block 2", _matmul_inputs(5, 4, 1, 2))]),
    mistakes=(
        Mistake("edge_tiles_dropped",
                "the edge tiles are missing: when a size is not a multiple of block, the "
                "last tile along it is smaller, and your loops stop before it (or skip "
                "everything when block is larger than the matrix). Let each loop run over "
                "every start 0, block, 2 block, ... below the size; a slice that runs past "
                "the end simply stops there",
                _variant(bounds="whole tiles only"),
                (("range(0, m, block)", "range(0, m - block + 1, block)"),
                 ("range(0, n, block)", "range(0, n - block + 1, block)"),
                 ("range(0, k, block)", "range(0, k - block + 1, block)")),
                forms=((("range(0, m, block)", "range(0, m // block * block, block)"),
                        ("range(0, n, block)", "range(0, n // block * block, block)"),
                        ("range(0, k, block)", "range(0, k // block * block, block)")),)),
        Mistake("tile_assigned",
                "a tile of C is the sum of the products over every depth tile, "
                "C[I, J] = sum_P A[I, P] B[P, J]; you assign each product (=), so only the "
                "last depth tile's is left: add them up (+=) into C",
                _variant(accumulate=False),
                ((_LOOP, _LOOP.replace("] += kernel", "] = kernel")),),
                forms=(((_LOOP, "acc = kernel(A[i0:i0 + block, p0:p0 + block], "
                                "B[p0:p0 + block, j0:j0 + block])\n"
                                "            C[i0:i0 + block, j0:j0 + block] = acc"),),)),
        Mistake("depth_bound_wrong",
                "your depth loop stops at n (B's number of columns): the sum of a tile of "
                "C runs over the shared dimension k (A's columns, B's rows), so when n < k "
                "the last depth tiles are never added",
                _variant(depth_bound="n"),
                (("range(0, k, block)", "range(0, n, block)"),),
                forms=((("range(0, k, block)", "range(0, C.shape[1], block)"),),)),
        Mistake("tile_index_transposed",
                "a tile of A or of B is taken with its indices swapped: the tile of A "
                "that multiplies into C[I, J] is A[I, P] (rows of C, depth), the tile of B "
                "is B[P, J] (depth, columns of C)",
                (_variant(a_index="pi"), _variant(b_index="jp")),
                (("kernel(A[i0:i0 + block, p0:p0 + block]",
                  "kernel(A[p0:p0 + block, i0:i0 + block]"),),
                forms=((("B[p0:p0 + block, j0:j0 + block])", "B[j0:j0 + block, p0:p0 + block].T)"),),)),
        Mistake("float64_accumulator",
                "your C is float64 for float32 inputs: np.zeros((m, n)) is float64 unless "
                "told otherwise; give it the inputs' dtype (dtype=A.dtype)",
                _variant(dtype="float64"),
                (("C = np.zeros((m, n), dtype=A.dtype)", "C = np.zeros((m, n))"),),
                forms=((("C = np.zeros((m, n), dtype=A.dtype)",
                         "C = np.zeros([m, n], dtype=float)"),),)),
        Mistake("kernel_not_used",
                "your product does not go through kernel tile by tile: the exercise is the "
                "loops around it, so hand every pair of tiles (at most block x block) to "
                "kernel(a, b) and add up what it returns, with no matrix product of your "
                "own and no call of kernel on the whole matrices",
                (_variant(kernel=False), _variant(kernel="whole")),
                ((_LOOP, _LOOP.replace("kernel(", "np.dot(")),),
                forms=(((_LOOP, "pass\n    C = A @ B"),),
                       ((_LOOP, "pass\n    C = kernel(A, B)"),))),
    ))


#: The hints, level 1 (where to start) to 3 (the formula): Markdown with
#: $...$ maths, shown by ``tinyae exercises hint`` and the course book.
HINTS = (
    r"""Cut the index ranges into tiles: rows of $C$ (and $A$) into $I_0, I_1, \dots$, columns
of $C$ (and $B$) into $J_0, J_1, \dots$, the shared dimension $k$ into
$P_0, P_1, \dots$, each `block` long but the last. Split the sum over $p$ in
$C_{ij} = \sum_p A_{ip} B_{pj}$ along those tiles: what does one tile $C[I, J]$ become?""",
    r"""$C[I, J] = \sum_P A[I, P]\, B[P, J]$: three loops over tile starts (rows, columns,
depth), and for each pair of tiles one call of `kernel`, whose result is **added** to
the tile of $C$. `range(0, size, block)` gives every start, the short last one
included; a slice such as `A[i0:i0 + block]` stops at the end of the array by itself.
Start from `C = np.zeros((m, n), dtype=A.dtype)`.""",
    r"""$$C[I, J] = \sum_{P} A[I, P]\, B[P, J] \quad \text{for every row tile } I \text{ and column tile } J.$$

In NumPy: `for i0 in range(0, m, block): for j0 in range(0, n, block): for p0 in
range(0, k, block):` then
`C[i0:i0 + block, j0:j0 + block] += kernel(A[i0:i0 + block, p0:p0 + block],
B[p0:p0 + block, j0:j0 + block])`.""",
)
