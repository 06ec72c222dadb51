"""A matrix product in Numba, blocked the way BLAS blocks it.

The scheme is Goto and van de Geijn's (K. Goto, R. A. van de Geijn,
"Anatomy of high-performance matrix multiplication", ACM TOMS 34(3), 2008),
in the five-loop form of BLIS (F. G. Van Zee, R. A. van de Geijn, "BLIS: a
framework for rapidly instantiating BLAS functionality", ACM TOMS 41(3),
2015). For C = A B, A: (m, k), B: (k, n), C: (m, n):

* loop over column panels of B, ``nc`` wide, and over ``kc``-deep slices
  of k: copy ("pack") the kc x nc panel of B into slabs of ``nr`` columns,
  each slab one contiguous (kc, nr) array;
* loop over ``mc``-row blocks of A: pack the mc x kc block into slabs of
  ``mr`` rows, each a contiguous (kc, mr) array (a column of A's block is
  then ``mr`` adjacent numbers);
* for every pair of slabs, the micro-kernel: an mr x nr block of C as
  ``mr * nr`` accumulators that stay in registers for the whole depth kc,
  each step adding the outer product of one column of the A slab and one
  row of the B slab (mr broadcasts, nr / 8 vector loads, mr * nr / 8 FMAs).

The micro-kernel here is 3 x 32 in float32 and 3 x 16 in float64: 12
accumulators of 8 float32 (or 4 float64) in AVX2's 16 vector registers, one
for the current row of B and three for the broadcast elements of A. Written
as ``acc[i, j] += a_i * b[j]`` over a loop of constant length, LLVM
vectorises the j loop into ymm FMAs, and it keeps ``acc`` in registers for
the whole p loop only because ``acc`` lives on the stack (``_stack_tile``,
a fixed-size ``alloca``): memory LLVM knows no one else can see. A heap
array (``np.empty`` inside the kernel) may alias the packed slabs for all
LLVM knows, so every step loads and stores it (lesson 09: 3.3 against 57
GFLOP/s). The loop takes p two at a time: with one step per trip the
float64 body is small enough for LLVM to unroll the j loop completely
before vectorising, and its SLP vectoriser then leaves 48 scalar
accumulators, spilled (4 GFLOP/s; 33 with two steps; float32 is unchanged).
Checked in the generated code (``_micro.inspect_asm(sig)`` of a freshly
compiled signature): per trip 24 ``vfmadd231ps`` (``pd``) on ymm registers,
eight vector loads, six broadcasts, no access to the stack.

Compilation flags: the library's ``_JIT`` plus ``fastmath={"contract"}``,
which lets LLVM fuse ``acc + a * b`` into one FMA (one rounding instead of
two: twice the arithmetic per instruction). No reassociation: every element
of C is still summed over k in order, p = 0, 1, ..., k - 1, so the result
differs from NumPy's BLAS (which sums in another order) by rounding only,
bounded by about k * eps * (|A| |B|)[i, j]. ``tests/test_gemm.py`` checks
that bound.

Measured on the project's machine (AMD EPYC, AVX2, 1 thread, best of 7-8
interleaved rounds; lesson 09 and ``docs/performance.md`` have the ladder):
``matmul`` reaches 0.71-0.74 of OpenBLAS at 128 x 784 x 512 float32 (about
65 against 90 GFLOP/s) and 0.7-0.8 in float64 (29-35 against 41).

Where it is used: nowhere in the training step, which keeps NumPy's
OpenBLAS. ``matmul_bias_act`` computes ``act(x W + b)`` with the bias and
activation applied as each block is written back (the output is written
once); against OpenBLAS ``x @ W`` followed by the library's fused bias +
activation pass (``kernels.linear_act_forward``) it was slower at every
shape of the library, 1 thread, as a ratio of times (BLAS + pass / fused;
above 1 would mean the fused GEMM wins):

=============  ==============  ================  ==============  ================
(m, k, n)      float32 relu    float32 sigmoid   float64 relu    float64 sigmoid
=============  ==============  ================  ==============  ================
128, 784, 512  0.70            0.68              0.80            0.80
128, 512, 32   0.44            0.47              0.66            0.71
128, 32, 512   0.46            0.48              0.64            0.87
128, 512, 784  0.71            0.67              0.78            0.82
512, 64, 192   0.55            0.53              0.68            0.88
=============  ==============  ================  ==============  ================

(e.g. 128 x 784 x 512 float32 relu: 1158 us for BLAS + pass, 1664 us
fused.) The pass after BLAS costs 2-15% of the product, the GEMM itself
is 30% slower than OpenBLAS, so fusion cannot win here; sigmoid inside the
kernel also pays Numba's scalar ``exp`` where the pass uses NumPy's SIMD
``exp``.

The NumPy twin of ``matmul(a, b)`` is ``a @ b``; of ``matmul_bias_act`` it is
``functional.linear_act_forward``.
"""

import numba
import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .base import _JIT
from .dense import _add_bias, _bias_relu, _sigmoid_e

__all__ = ["matmul", "matmul_bias_act"]

#: Compilation options of the GEMM: the library's, plus FMA contraction.
_GEMM_JIT = dict(_JIT, fastmath={"contract"})
gemm_jit = numba.njit(**_GEMM_JIT)

#: Rows of the micro-kernel (fixed by the three ``acc`` lines in ``_micro``).
MR = 3
#: Bytes in one row of the micro-kernel: 128 = four ymm registers, so
#: nr = 32 float32 or 16 float64 columns.
NR_BYTES = 128
#: Cache blocking: a kc x nr slab of B (48 KiB in float32) is reused from
#: L1/L2 while the micro-kernel walks down the mc x kc block of A (144 KiB,
#: in the 512 KiB L2); the kc x nc panel of B (1.5 MiB) lives in L3. Chosen
#: by measurement at 128 x 784 x 512 float32, best of 8 interleaved rounds,
#: as a fraction of 1-thread OpenBLAS: kc 64: 0.54, 128: 0.65, 256: 0.69,
#: 384: 0.72, 512: 0.63; mc 66, 96, 129 within 0.02; nc 256: 0.60, 1024: 0.65.
KC, MC, NC = 384, 96, 1024

#: Activation of the epilogue -> the code the kernel branches on.
IDENTITY, RELU, SIGMOID = 0, 1, 2
ACTIVATIONS = {"identity": IDENTITY, "relu": RELU, "sigmoid": SIGMOID}


@intrinsic
def _stack_tile(typingctx, dtype):
    """A pointer to MR * NR_BYTES bytes of ``dtype`` on the stack (an
    ``alloca`` in the function's entry block): memory LLVM knows nobody
    else can see, so it may keep it in registers."""
    def codegen(context, builder, signature, args):
        ty = context.get_value_type(dtype.dtype)
        n = MR * NR_BYTES // context.get_abi_sizeof(ty)
        return cgutils.alloca_once(builder, ty, size=n)
    return types.CPointer(dtype.dtype)(dtype), codegen


@intrinsic
def _nr(typingctx, dtype):
    """Columns of the micro-kernel for ``dtype`` (32 float32, 16 float64), as a
    compile-time constant: LLVM then knows the length of the micro-kernel's
    inner loop and unrolls it into whole vector registers. (``a.itemsize``
    would not do: Numba reads it from the array at run time.)"""
    def codegen(context, builder, signature, args):
        ty = context.get_value_type(dtype.dtype)
        return context.get_constant(types.intp, NR_BYTES // context.get_abi_sizeof(ty))
    return types.intp(dtype), codegen


@gemm_jit
def pack(M, r0, rows, c0, cols, out):
    """out[s, p, j] = M[r0 + p, c0 + s w + j]: rows r0 .. r0 + rows - 1 and
    columns c0 .. c0 + cols - 1 of M as slabs of w = out.shape[2] columns,
    each slab a contiguous (rows, w) array; zero beyond M's last column,
    and in row ``rows`` if ``rows`` is odd (the micro-kernel takes p two at
    a time).

    The kc x nc panel of B is ``pack(B, pc, kc, jc, nc, Bp)`` (w = nr); the
    mc x kc block of A is the same copy of A^T, ``pack(A.T, pc, kc, ic, mc,
    Ap)`` (w = mr): a column of an A slab, the mr numbers one step of the
    micro-kernel needs, is then contiguous. M: any strides; out: (>=
    ceil(cols / w), >= rows + rows % 2, w).
    """
    w_max = out.shape[2]
    zero = out.dtype.type(0)
    for s in range((cols + w_max - 1) // w_max):
        j0 = c0 + s * w_max
        w = min(w_max, c0 + cols - j0)
        for p in range(rows):
            row = M[r0 + p]
            slab = out[s, p]
            for j in range(w):
                slab[j] = row[j0 + j]
            for j in range(w, w_max):
                slab[j] = zero
        if rows % 2:
            out[s, rows] = zero


@gemm_jit
def _sigmoid_tile(a):
    """a <- s(a) in place, a: (rows, cols), any strides (Numba's scalar exp:
    a tile is too small to hand to NumPy)."""
    one = a.dtype.type(1)
    for i in range(a.shape[0]):
        row = a[i]
        for j in range(row.size):
            row[j] = _sigmoid_e(row[j], np.exp(-abs(row[j])), one)


@numba.njit(inline="always", **_GEMM_JIT)
def _write_back(acc, C, i0, j0, mr, nr, first, last, b, act):
    """C[i0:i0 + mr, j0:j0 + nr] (+)= acc[:mr, :nr]; after the last kc slice
    also add the bias and apply the activation (the fused epilogue), while
    the block is still in L1. Each case is its own branch-free loop, which
    LLVM vectorises.

    acc: (MR, nr_max); b: (n,) (ignored if ``act < 0``: no bias);
    act: -1 plain product, else a value of ``ACTIVATIONS``.
    """
    tile = C[i0:i0 + mr, j0:j0 + nr]
    for i in range(mr):
        row, a = tile[i], acc[i]
        if first:
            for j in range(row.size):
                row[j] = a[j]
        else:
            for j in range(row.size):
                row[j] += a[j]
    if last and act >= 0:
        bias = b[j0:j0 + nr]
        if act == RELU:
            _bias_relu(tile, bias)
        else:
            _add_bias(tile, bias)
            if act == SIGMOID:
                _sigmoid_tile(tile)


@gemm_jit
def _micro(kc, Ap, Bp, C, i0, j0, mr, nr, first, last, b, act, on_stack):
    """The 3 x nr block C[i0:i0 + 3, j0:j0 + nr] from one slab of A and one
    of B: C_block (+)= sum_p Ap[p, :, None] * Bp[p, None, :], the terms added
    in the order p = 0, 1, ..., kc - 1.

    Ap: (>= kc + kc % 2, 3) contiguous; Bp: (>= kc + kc % 2, NR) contiguous
    (row kc zero if kc is odd); the first mr <= 3 rows and nr <= NR columns
    of the block are C's, the rest is packing's zeros. ``on_stack`` (a
    literal) chooses where ``acc`` lives: the stack (registers) or the heap.
    """
    NR = _nr(Bp.dtype)
    if on_stack:                            # a literal: one branch is compiled
        acc = numba.carray(_stack_tile(Bp.dtype), (MR, NR))
    else:
        acc = np.empty((MR, NR), Bp.dtype)
    for i in range(MR):
        for j in range(NR):
            acc[i, j] = 0
    for p in range(0, kc, 2):               # two steps of p per trip (see above)
        a_p0, a_p1, a_p2 = Ap[p, 0], Ap[p, 1], Ap[p, 2]          # step p
        b_p = Bp[p]
        a_q0, a_q1, a_q2 = Ap[p + 1, 0], Ap[p + 1, 1], Ap[p + 1, 2]  # step p + 1
        b_q = Bp[p + 1]
        for j in range(NR):                 # constant length: 4 ymm FMAs per line
            acc[0, j] += a_p0 * b_p[j]
            acc[1, j] += a_p1 * b_p[j]
            acc[2, j] += a_p2 * b_p[j]
            acc[0, j] += a_q0 * b_q[j]
            acc[1, j] += a_q1 * b_q[j]
            acc[2, j] += a_q2 * b_q[j]
    _write_back(acc, C, i0, j0, mr, nr, first, last, b, act)


@gemm_jit
def gemm_into(A, B, C, j_lo, j_hi, b, act, on_stack):
    """C[:, j_lo:j_hi] = act(A B[:, j_lo:j_hi] + b[j_lo:j_hi]) (``act`` -1:
    the plain product, ``b`` unused), by the five loops of BLIS around the
    micro-kernel. ``on_stack`` False gives the micro-kernel heap
    accumulators instead (lesson 09 measures what that costs); each value
    compiles its own version, with the other branch removed.

    A: (m, k) with k >= 1, B: (k, n), C: (m, n) written in place, b: (n,).
    Every element is summed over p in order 0..k-1. The packing buffers are
    this call's own, so calls on disjoint column ranges may run in parallel.
    """
    numba.literally(on_stack)
    m, k = A.shape
    nr = _nr(A.dtype)
    Bp = np.empty(((NC + nr - 1) // nr, KC, nr), A.dtype)
    Ap = np.empty(((MC + MR - 1) // MR, KC, MR), A.dtype)
    for jc in range(j_lo, j_hi, NC):                   # 5th loop: nc columns
        nc = min(NC, j_hi - jc)
        for pc in range(0, k, KC):                     # 4th loop: kc of depth
            kc = min(KC, k - pc)
            pack(B, pc, kc, jc, nc, Bp)
            for ic in range(0, m, MC):                 # 3rd loop: mc rows
                mc = min(MC, m - ic)
                pack(A.T, pc, kc, ic, mc, Ap)
                for jr in range(0, nc, nr):            # 2nd loop: one B slab
                    for ir in range(0, mc, MR):        # 1st loop: one A slab
                        _micro(kc, Ap[ir // MR], Bp[jr // nr], C, ic + ir, jc + jr,
                               min(MR, mc - ir), min(nr, nc - jr), pc == 0,
                               pc + kc == k, b, act, on_stack)
    return C


@gemm_jit
def _matmul(A, B):
    """C = A B; A: (m, k), B: (k, n) -> (m, n). k = 0 gives zeros."""
    m, k = A.shape
    n = B.shape[1]
    if k == 0:
        return np.zeros((m, n), A.dtype)
    return gemm_into(A, B, np.empty((m, n), A.dtype), 0, n, B[0], -1, True)


def matmul(a, b):
    """C = a b by the blocked Numba kernel (twin: ``a @ b``).

    a: (m, k), b: (k, n), both float32 or both float64, any strides (views
    such as ``a.T`` are packed directly, without a copy) -> (m, n).
    """
    return _matmul(a, b)


@gemm_jit
def _matmul_bias_act(x, W, b, act):
    """act(x W + b); x: (m, k), W: (k, n), b: (n,), act a code of ACTIVATIONS."""
    m, k = x.shape
    n = W.shape[1]
    out = np.empty((m, n), x.dtype)
    if k == 0:                  # no product: the epilogue on zeros
        acc = np.zeros((MR, _nr(x.dtype)), x.dtype)
        for i in range(0, m, MR):
            for j in range(0, n, acc.shape[1]):
                _write_back(acc, out, i, j, min(MR, m - i), min(acc.shape[1], n - j),
                            True, True, b, act)
        return out
    return gemm_into(x, W, out, 0, n, b, act, True)


def matmul_bias_act(x, W, b, activation):
    """out = act(x W + b), the bias and activation applied in the GEMM's
    write-back (twin: ``functional.linear_act_forward(x, W, b, act)[0]``).

    x: (batch, n_in), W: (n_in, n_out), b: (n_out,) -> (batch, n_out);
    ``activation`` one of ``ACTIVATIONS`` (identity, relu, sigmoid).
    """
    return _matmul_bias_act(x, W, np.ascontiguousarray(b).reshape(-1),
                            ACTIVATIONS[activation])
