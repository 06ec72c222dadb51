"""Exercise 17: Huffman code lengths: the spec and its catalogue of mistakes
(the source is ``sources/ex17_huffman.py``).

Huffman's lengths are not unique: with ties, two optimal codes can have
different lengths ((1, 1, 2, 2) gives (3, 3, 2, 1) or (2, 2, 2, 2), both 12
bits). So the program grades what every optimal code shares, as numbers
(not as an integer array compared in the inputs' dtype): the mean length
sum c l / sum c, the Kraft sum over the symbols that occur, the mean length
with the lengths re-sorted against the counts (a right set of lengths given
to the wrong symbols shows as a difference between the two means), and the
lengths given to symbols that never occur.
"""

import heapq

import numpy as np

from ....analysis.compression import HuffmanCode, huffman_lengths
from ..specs import Case, Exercise, Mistake

#: The outputs are computed from integers in float64, the same way for
#: every optimal code: they agree to the last bit or the code is not optimal.
_RTOL = {np.dtype(np.int64): 1e-12, np.dtype(np.int32): 1e-12}


def _huffman_program(f, counts):
    lengths = np.asarray(f["huffman_lengths"](counts))
    out = {"lengths returned": int(lengths.size)}
    if lengths.shape != counts.shape:                 # one length per symbol, or nothing
        return dict(out, **{k: float("nan") for k in (
            "mean length", "mean length, lengths re-sorted", "Kraft sum",
            "lengths of unused symbols")})
    c, n = counts.astype(np.float64), lengths.astype(np.float64)
    used = counts > 0
    by_count = np.sort(c[used])[::-1]                 # most frequent first ...
    shortest = np.sort(n[used])                       # ... with the shortest lengths
    return dict(out, **{
        "mean length": float(c @ n / c.sum()),
        "mean length, lengths re-sorted": float(by_count @ shortest / c.sum()),
        "Kraft sum": float(np.sum(2.0 ** -n[used])),
        "lengths of unused symbols": float(n[~used].sum())})


def _huffman_cases(rng):
    def shuffled(values):
        return rng.permutation(np.array(values, dtype=np.int64))
    specs = [
        ("12 symbols, counts 1 to 1000", rng.integers(1, 1001, 12)),
        ("ties: counts (1, 1, 2, 2)", np.array([1, 1, 2, 2])),
        ("16 symbols, counts 1 to 3 (many ties)", rng.integers(1, 4, 16)),
        ("one symbol", np.array([7])),
        ("one symbol occurs, three never", np.array([0, 5, 0, 0])),
        ("two symbols", rng.integers(1, 50, 2)),
        ("10 symbols, four never occur", shuffled([0, 0, 0, 0, 3, 17, 4, 40, 9, 1])),
        ("powers of two: lengths -log2 p", shuffled([16, 8, 4, 2, 1, 1])),
        ("Fibonacci counts: the deepest tree", shuffled([1, 1, 2, 3, 5, 8, 13, 21, 34, 55])),
        ("5 equal counts", np.full(5, 6)),
        ("int32 counts up to 1e6", rng.integers(0, 10 ** 6, 9).astype(np.int32)),
        ("int64 counts up to 1e12", rng.integers(1, 10 ** 12, 7))]
    return [Case(label, counts.dtype, {"counts": counts}) for label, counts in specs]


def _huffman_integration(f):
    """4,000 symbols of 12 (two never occur) coded with the student's lengths
    by the library's canonical coder and decoded again."""
    rng = np.random.default_rng(17)
    p = np.array([30, 20, 12, 10, 8, 6, 5, 4, 3, 2, 0, 0], dtype=np.float64)
    symbols = rng.choice(12, size=4000, p=p / p.sum())
    counts = np.bincount(symbols, minlength=12)
    best = int(HuffmanCode(counts).lengths_ @ counts)
    lengths = np.asarray(f["huffman_lengths"](counts))
    what = "4,000 symbols of 12 (two never occur) through the library's canonical coder"
    if lengths.shape != counts.shape or (lengths[counts > 0] == 0).any():
        problem = (f"gives {lengths.size} lengths for {counts.size} symbols"
                   if lengths.shape != counts.shape else
                   "gives length 0 (no codeword) to a symbol that occurs")
        return [{"passed": False, "text": f"{what}: your huffman_lengths {problem}: FAIL"}]
    try:
        code = HuffmanCode.from_lengths(lengths)
    except ValueError as exc:
        return [{"passed": False, "text": f"{what}: your lengths are no prefix code ({exc}): "
                                          f"FAIL"}]
    data, n_bits = code.encode(symbols)
    exact = bool(np.array_equal(code.decode(data, symbols.size, n_bits), symbols))
    passed = exact and n_bits == best
    return [{"passed": passed, "student": n_bits, "reference": best,
             "text": f"{what}: {n_bits} bits with your lengths, decoded "
                     f"{'exactly' if exact else 'WRONG'} (an optimal code: {best} bits): "
                     f"{'pass' if passed else 'FAIL'}"}]


def _huffman_variant(largest=False, lone=1, extra=0, unused="skip", roots_only=False):
    def lengths_of(counts):
        lengths = np.zeros(len(counts), dtype=np.int64)
        keep = [s for s, c in enumerate(counts) if c > 0 or unused == "code"]
        heap = [(-int(counts[s]) if largest else int(counts[s]), s, [s]) for s in keep]
        if len(heap) == 1:
            lengths[heap[0][1]] = lone
        else:
            heapq.heapify(heap)
            while len(heap) > 1:
                c1, t1, leaves1 = heapq.heappop(heap)
                c2, t2, leaves2 = heapq.heappop(heap)
                lengths[[t1, t2] if roots_only else leaves1 + leaves2] += 1
                heapq.heappush(heap, (c1 + c2, min(t1, t2), leaves1 + leaves2))
            lengths[keep] += extra
        return lengths[np.asarray(counts) > 0] if unused == "drop" else lengths
    return {"huffman_lengths": lengths_of}


_LONE = "    if len(heap) == 1:\n        lengths[heap[0][1]] = 1\n        return lengths\n"
_ZEROS = "lengths = np.zeros(len(counts), dtype=np.int64)"
_HEAP = "heap = [(int(c), s, [s]) for s, c in enumerate(counts) if c > 0]"
_MERGE = ("        c1, t1, leaves1 = heapq.heappop(heap)\n"
          "        c2, t2, leaves2 = heapq.heappop(heap)\n"
          "        lengths[leaves1 + leaves2] += 1\n"
          "        heapq.heappush(heap, (c1 + c2, min(t1, t2), leaves1 + leaves2))\n")
#: The whole solution written as a tree and a walk from the root whose depth
#: starts at 1: it counts the nodes on the path, not the edges.
_WALK_FROM_1 = '''lengths = np.zeros(len(counts), dtype=np.int64)
    heap = [(int(c), s, s) for s, c in enumerate(counts) if c > 0]
    heapq.heapify(heap)
    while len(heap) > 1:
        c1, t1, a = heapq.heappop(heap)
        c2, t2, b = heapq.heappop(heap)
        heapq.heappush(heap, (c1 + c2, min(t1, t2), (a, b)))

    def walk(node, depth):
        if isinstance(node, tuple):
            walk(node[0], depth + 1)
            walk(node[1], depth + 1)
        else:
            lengths[node] = depth
    walk(heap[0][2], 1)
    return lengths
'''


def _solution_body():
    """The solution's lines from the first to the last (for a form that
    replaces it whole)."""
    return (f"{_ZEROS}\n    # one tree per symbol that occurs: (weight, smallest symbol, "
            f"its leaves)\n    {_HEAP}\n{_LONE}    heapq.heapify(heap)\n"
            f"    while len(heap) > 1:\n{_MERGE}    return lengths\n")


HUFFMAN = Exercise(
    number=17, slug="huffman", title="Huffman code lengths",
    functions=("huffman_lengths",), reference={"huffman_lengths": huffman_lengths},
    program=_huffman_program, cases=_huffman_cases, integration=_huffman_integration,
    rtol=_RTOL,
    mistakes=(
        Mistake("merge_largest",
                "you joined the two trees of largest weight: Huffman joins the two "
                "smallest, so that the rarest symbols end up deepest (longest codewords) "
                "and the most frequent nearest the root",
                _huffman_variant(largest=True),
                (("(int(c), s, [s])", "(-int(c), s, [s])"),),
                forms=((("heapq.heappop(heap)", "heap.pop(heap.index(max(heap)))"),
                        ("heapq.heappush(heap, ", "heap.append(")),)),
        Mistake("lone_symbol_zero",
                "when only one symbol occurs you gave it length 0: a codeword of 0 bits "
                "cannot be read (the decoder could not count the symbols); give it 1 bit",
                _huffman_variant(lone=0),
                ((_LONE, ""),),
                forms=((("        lengths[heap[0][1]] = 1\n", ""),),)),
        Mistake("nodes_not_edges",
                "your lengths are one too long: a symbol's length is the number of edges "
                "from the root down to its leaf, not the number of nodes on that path "
                "(your Kraft sum is 1/2: half of the code space is never used)",
                _huffman_variant(extra=1),
                ((_ZEROS, "lengths = (np.asarray(counts) > 0).astype(np.int64)"),),
                forms=(((_solution_body(), _WALK_FROM_1),),)),
        Mistake("unused_coded",
                "symbols whose count is 0 got codewords: they never occur, so they stay "
                "out of the tree with length 0 (in it, they push symbols that do occur "
                "one level deeper)",
                _huffman_variant(unused="code"),
                ((" if c > 0]", "]"),),
                forms=(((_HEAP, "heap = []\n    for s in range(len(counts)):\n"
                                "        heap.append((int(counts[s]), s, [s]))"),),)),
        Mistake("unused_dropped",
                "you returned lengths only for the symbols that occur: return one length "
                "per symbol, in the order of counts, with 0 where the count is 0",
                _huffman_variant(unused="drop"),
                ((_ZEROS, f"counts = counts[counts > 0]\n    {_ZEROS}"),),
                forms=((("return lengths\n", "return lengths[counts > 0]\n"),),)),
        Mistake("roots_only",
                "when two trees are joined, only one symbol of each got one edge longer: "
                "every leaf below each joined root moves one level deeper (your Kraft sum "
                "exceeds 1, so no prefix code has your lengths)",
                _huffman_variant(roots_only=True),
                (("lengths[leaves1 + leaves2] += 1", "lengths[[t1, t2]] += 1"),),
                forms=(((_HEAP, "heap = [(int(c), s) for s, c in enumerate(counts) if c > 0]"),
                        (_MERGE, "        c1, t1 = heapq.heappop(heap)\n"
                                 "        c2, t2 = heapq.heappop(heap)\n"
                                 "        lengths[t1] += 1\n        lengths[t2] += 1\n"
                                 "        heapq.heappush(heap, (c1 + c2, min(t1, t2)))\n")),)),
    ))


#: The hints, level 1 (where to start) to 3 (the formula): Markdown with
#: $...$ maths, shown by ``tinyae exercises hint`` and the course book.
HINTS = (
    r"""Keep, for every tree still in play, its weight and the list of symbols (leaves)
it holds. Start with one tree per symbol whose count is positive. A priority queue gives
the two lightest trees: `heapq.heappop` on a list of tuples `(weight, tiebreak, leaves)`
returns the smallest tuple, so put the weight first and something unique second (the
smallest symbol of the tree) so that two lists are never compared.""",
    r"""A symbol's length is its depth: the number of joins above it. So each time you
join two trees, every symbol in either of them (not just one) gets one more edge: add 1
to `lengths` at all their leaves, then push the joined tree with the summed weight and
the two leaf lists concatenated. Symbols with count 0 never enter the queue and keep
length 0. If only one tree is there at the start, the loop never runs: that symbol needs
1 bit.""",
    r"""```
lengths = np.zeros(len(counts), dtype=np.int64)
heap = [(int(c), s, [s]) for s, c in enumerate(counts) if c > 0]
if len(heap) == 1: lengths[heap[0][1]] = 1
heapq.heapify(heap)
while len(heap) > 1:
    pop (c1, t1, a) and (c2, t2, b); lengths[a + b] += 1
    push (c1 + c2, min(t1, t2), a + b)
```
The total $\sum_s c_s l_s$ is then minimal, and the mean length lies in $[H, H + 1)$
bits, $H = -\sum_s p_s \log_2 p_s$.""",
)
