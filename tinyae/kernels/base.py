"""What every kernel module builds on: the compilation options (one place,
``_JIT`` and ``jit``), flat views for element-wise cores (``_flat``,
``_map``), the backward of a selection (``_masked``: the soft-threshold's
and the top-k's) and the vectorised exp(-|a|) that the sigmoid, the BCE
and the GELU's backward share (``_exp_neg_abs``; tested against NumPy's
exp in ``tests/test_kernels.py``). How twins are built: ``tinyae.kernels``.
"""

import math

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic


_JIT = dict(cache=True, fastmath=False, nogil=True, error_model="numpy")
jit = numba.njit(**_JIT)

#: The one other set of flags here (with gemm's): the library's plus
#: ``reassoc``, for a kernel whose only job is a sum (the BCE's, LayerNorm's
#: row sums). It lets LLVM split the sum into vector lanes; without it every
#: add waits for the one before.
_SUM_JIT = dict(_JIT, fastmath={"reassoc"})
sum_jit = numba.njit(**_SUM_JIT)


def _flat(x):
    """x: any shape -> (x.size,) C-contiguous view (a copy only if needed)."""
    return np.ascontiguousarray(x).reshape(-1)


def _map(core, x, *more):
    """Apply an element-wise ``core`` to flat ``x, *more``; out shaped like x."""
    return core(_flat(x), *[_flat(a) for a in more]).reshape(np.shape(x))


@jit
def _masked(dout, mask):
    """dx = dout * mask, flat arrays (mask bool): the backward of a selection
    (the soft-threshold, top-k). 0 * dout where masked out, as NumPy's
    product (so an inf in dout gives NaN there, as in the reference)."""
    zero = dout.dtype.type(0)
    dx = np.empty_like(dout)
    for i in range(dout.size):
        dx[i] = dout[i] if mask[i] else zero * dout[i]
    return dx


def _exp_neg_abs(a):
    """exp(-|a|) for any shape, a new array of a's dtype.

    Numba calls libm's scalar exp once per element (no SIMD vector math
    library is installed), so float64 and float32 take ``_exp_nonpos``, an
    exp written for LLVM to vectorise. float64: NumPy's exp has no SIMD loop
    on an AVX2 machine (5 ns an element here); the vectorised one took 286
    against 627 us on 128 x 784. float32: against NumPy's SIMD exp in three
    passes (abs, negative, exp), 81-92 against 254-294 us on 128 x 784.
    Other dtypes take NumPy's three passes.
    """
    if a.dtype in _EXP_CONSTANTS:
        bits_type, constants, taylor = _EXP_CONSTANTS[a.dtype]
        flat = _flat(a)
        out, k_bits = np.empty_like(flat), np.empty_like(flat)
        _exp_nonpos(flat, out, k_bits, out.view(bits_type), k_bits.view(bits_type),
                    constants, taylor)
        return out.reshape(np.shape(a))
    e = np.abs(a)
    np.negative(e, out=e)
    return np.exp(e, out=e)


_LOG2E = 1.4426950408889634


def _exp_constants(dtype, bits_type, mantissa_bits, fast_min, ln2_hi, ln2_lo, degree):
    """(integer type of the bits, constants of ``_exp_nonpos``, Taylor
    coefficients) for one dtype.

    The constants are (fast_min, log2(e), 1/2, ln 2 split in a high and a
    low part, the rounding constant c = 1.5 * 2^mantissa_bits and its bits,
    the exponent field's first bit): adding c to an integer-valued float k
    leaves k in the low bits of the sum's mantissa, so bits(k + c) - bits(c)
    = k. The coefficients are 1 / j! for j = degree .. 0, for Horner's rule.
    """
    rounding = dtype(1.5 * 2.0 ** mantissa_bits)
    constants = (dtype(fast_min), dtype(_LOG2E), dtype(0.5), dtype(ln2_hi), dtype(ln2_lo),
                 rounding, np.array(rounding).view(bits_type)[()], bits_type(mantissa_bits))
    taylor = tuple(dtype(1.0 / math.factorial(j)) for j in range(degree, -1, -1))
    return bits_type, constants, taylor


#: float64: ln 2 split as in fdlibm (k * hi is exact for |k| < 2^20, so
#: x - k ln 2 loses nothing to rounding); below fast_min = -700, exp(x) is
#: near the smallest normal number; the series to r^13 leaves out less than
#: 0.35^14 / 14! < 5e-18.
#:
#: float32: ln 2 split as in Cephes' expf (0.693359375 has 9 significant
#: bits: k * hi is exact for |k| < 2^15); fast_min = -86 (k = -126 at -87.0
#: already, out of the normal range); the series to r^7 leaves out less
#: than r^8 / 8! < 5.3e-9, under a tenth of float32's unit roundoff.
_EXP_CONSTANTS = {
    np.dtype(np.float64): _exp_constants(np.float64, np.int64, 52, -700.0,
                                         6.93147180369123816490e-01,
                                         1.90821492927058770002e-10, 13),
    np.dtype(np.float32): _exp_constants(np.float32, np.int32, 23, -86.0, 0.693359375,
                                         -2.12194440e-4, 7),
}


@jit
def _horner(r, c):
    """c[0] r^d + ... + c[d] by Horner's rule, in r's dtype."""
    p = c[0]
    for j in range(1, len(c)):
        p = p * r + c[j]
    return p


@jit
def _exp_nonpos(a, out, k_bits, bits, kb, constants, taylor):
    """out = exp(-|a|) of flat a, every step in a's dtype (float64 within an
    ulp of libm's exp, float32 within an ulp of the true value: tests).

    exp(x) = 2^k exp(r) with k = round(x / ln 2) and r = x - k ln 2, |r| <=
    ln(2) / 2. The first loop computes exp(r) and k (as an integer-valued
    float plus the rounding constant, into k_bits); the second puts k into
    the exponent field by an integer add on out's bits (``bits`` and ``kb``
    are integer views of out and k_bits; 2^k times a number in [0.7, 1.5]
    is still normal for x >= fast_min). Both loops are branch-free
    arithmetic, which LLVM turns into AVX2 code (4 float64 or 8 float32
    lanes); libm's exp is one call per element. Elements below fast_min and
    NaN are left to ``_exp_rare``.
    """
    fast_min, log2e, half, ln2_hi, ln2_lo, rounding, rounding_bits, shift = constants
    for i in range(a.size):
        x = -abs(a[i])
        xc = x if x >= fast_min else fast_min
        k = np.floor(xc * log2e + half)
        out[i] = _horner((xc - k * ln2_hi) - k * ln2_lo, taylor)
        k_bits[i] = k + rounding
    for i in range(a.size):
        bits[i] += (kb[i] - rounding_bits) << shift
    _exp_rare(a, out, fast_min)


@jit
def _exp_rare(a, out, fast_min):
    """out[i] = exp(-|a[i]|) by libm where -|a[i]| < fast_min or is NaN.

    Its own loops: a count of the rare elements kept in the vectorised loop
    stopped LLVM from vectorising it (float32: 142 against 66 us on
    128 x 784), while this test on its own takes about 14 us."""
    rare = False
    for i in range(a.size):
        rare |= not -abs(a[i]) >= fast_min
    if rare:
        for i in range(a.size):
            x = -abs(a[i])
            if not x >= fast_min:
                out[i] = np.exp(x)


# --------------------------------------------------------------------------
# exp inside a vectorised loop: the same steps as ``_exp_nonpos`` for one
# element, with 2^k made by reinterpreting bits (no second loop, no array)
# --------------------------------------------------------------------------

_BITS = {types.float64: types.int64, types.float32: types.int32}


@intrinsic
def _bits(typingctx, x):
    """The bits of a float64 (float32) as an int64 (int32): a reinterpretation,
    no conversion (LLVM's ``bitcast``; free in a vector register)."""
    if x not in _BITS:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(signature.return_type))
    return _BITS[x](x), codegen


@intrinsic
def _from_bits(typingctx, bits, like):
    """The float of ``like``'s type whose bits are the low bits of the
    integer ``bits`` (Numba widens int32 arithmetic to int64, so the integer
    is first cut or extended to the float's width)."""
    if like not in _BITS or not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        width = 8 * context.get_abi_sizeof(context.get_value_type(like))
        value = args[0]
        if value.type.width > width:
            value = builder.trunc(value, ir.IntType(width))
        elif value.type.width < width:
            value = builder.sext(value, ir.IntType(width))
        return builder.bitcast(value, context.get_value_type(like))
    return like(bits, like), codegen


@jit
def _exp_le0(x, constants, taylor):
    """exp(x) for one number fast_min <= x <= 0 (below fast_min: exp(fast_min),
    the caller's to handle), with ``_EXP_CONSTANTS[dtype]``: the reduction
    and series of ``_exp_nonpos``, then 2^k put into the exponent field as
    bits((k + bias) << mantissa_bits), bias the bits of 1.0 shifted down.
    Branch-free arithmetic on x's dtype, so a loop around it vectorises."""
    fast_min, log2e, half, ln2_hi, ln2_lo, rounding, rounding_bits, shift = constants
    xc = x if x >= fast_min else fast_min
    k = np.floor(xc * log2e + half)
    p = _horner((xc - k * ln2_hi) - k * ln2_lo, taylor)
    k_int = _bits(k + rounding) - rounding_bits
    return p * _from_bits((k_int + (_bits(half + half) >> shift)) << shift, p)
