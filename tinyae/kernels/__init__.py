"""Numba twins of the ops in ``tinyae.functional``.

Every name in ``backend.OP_NAMES`` is defined here (re-exported from one
module per family) with the same signature,
the same return structure and the same cache as its twin in ``functional``
(the readable reference, where each formula is derived). The numbers agree
to 1e-12 relative in float64 and ~1e-5 in float32 (``tests/test_kernels.py``).

How a twin is built:

* the public function is a thin Python wrapper: it makes the inputs
  C-contiguous (a copy only for views such as ``x.T`` or ``x[:, ::2]``),
  calls an ``@jit`` core and assembles the return tuple (``None`` caches,
  ``(out, out)``). All arithmetic happens inside the cores;
* element-wise cores see flat 1-D arrays, so one compiled version per dtype
  serves every shape; the result is reshaped back to the input's shape;
* the matrix products (``linear_*``, ``linear_act_*``) are NumPy's ``@``
  called from the wrapper, i.e. NumPy's OpenBLAS: measured about twice as
  fast here as ``np.dot`` inside Numba, which calls SciPy's BLAS; the bias
  add, bias gradient, activations and losses are explicit loops, fused
  where natural (BCE value and gradient share one ``exp``; a linear layer's
  bias and activation are one pass over the product, its activation
  derivative and bias gradient another);
* identity has nothing to compute: its twin is the reference function;
* dtype is preserved: float32 in, float32 out. Numba, like C, promotes
  ``float32 op 1.0`` and ``float32 / n`` (n an int) to float64, so constants
  are made in the input's dtype (``x.dtype.type(1)``) and every element is
  computed in that dtype, as NumPy does; only the loss sums are accumulated
  in float64 and returned as a Python float (sum over features, mean over
  batch, the division by N at the end).

Compilation options live in ``_JIT`` (``kernels/base.py``): cached on
disk, no fastmath (it lets LLVM reorder arithmetic and assume no NaN or
inf, so the twins would drift from the reference), ``nogil``, NumPy's
error model (1/0 -> inf, no exception), ``parallel`` off: the training
step's parallelism belongs to BLAS. Two kernels add one flag each, on top
of ``_JIT``: the GEMM ``contract`` (FMA, ``kernels/gemm.py``) and the BCE's
sum ``reassoc`` (``base.sum_jit``: a sum in vector lanes, in a fixed order;
LayerNorm's row sums use it too).
The benchmark configs' transcendental functions are vectorisable rather
than Numba's scalar libm calls: exp(-|a|) (sigmoid, BCE) by
``base._exp_nonpos`` in both dtypes, one exp inside a vectorised loop by
``base._exp_le0`` (the attention softmax, over the whole score array at
once), the GELU's erf by Cephes' rational forms written the same way
(``transformer._gelu64``, ``_gelu32``), tanh by NumPy's SIMD ufunc; the
other exps (softplus, the Gaussian NLL, the VAE's sampling, on small
arrays or off the benchmark's path) still call libm per element. The
measurements behind these choices are in ``docs/performance.md``;
``python -m tinyae.bench`` and ``lessons/09_kernels.py`` measure their
effect.

One module per family, the same families as ``tinyae.functional``, re-exported
here so ``kernels.<op>`` is the whole fast backend:

* ``base`` -- what they all build on: ``_JIT`` and ``jit``, the flat views
  of the element-wise cores, the vectorised exp(-|a|) (no ops of its own);
* ``dense`` -- twins of ``functional.dense``;
* ``conv`` -- twins of ``functional.conv`` (im2col/col2im and the pooling
  and upsampling loops in Numba, the products by NumPy's BLAS), on
  ``im2col`` -- the unrolling loops (no ops of their own).
* ``transformer`` -- twins of ``functional.transformer``.
* ``tsne`` -- twins of ``functional.tsne``.
* ``tsne_bh`` -- twins of ``functional.tsne_bh`` (the quadtree built one
  cell at a time, a depth-first walk per point).
* ``neighbours`` -- twins of ``functional.neighbours`` (a heap per row).
* ``hashing`` -- twins of ``functional.hashing`` (popcount by SWAR, Hamming
  ranking by counting sort).
* ``sparse_coding`` -- twins of the soft-threshold and the ISTA step.
* ``vq`` -- twins of ``vq_nearest`` and ``vq_code_stats`` (the other vq ops
  are cheap NumPy and have no twin).
* ``gemm`` -- a matrix product in Numba, blocked as BLAS blocks it
  (``matmul``, twin ``a @ b``; ``matmul_bias_act``, the bias and activation
  fused into its write-back). Used nowhere in the library: it reaches about
  0.7 of 1-thread OpenBLAS (128 x 784 x 512 float32: ~60-65 against ~85-90
  GFLOP/s), and with the epilogue fused it took 1.1-2.3 times as long as
  OpenBLAS plus the fused bias + activation pass at every shape of the
  library, float32 and float64 (the table is in ``kernels.gemm``'s docstring
  and ``docs/performance.md``), so every product stays with OpenBLAS.
"""

from .dense import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .transformer import *  # noqa: F401,F403
from .tsne import *  # noqa: F401,F403
from .tsne_bh import *  # noqa: F401,F403
from .neighbours import *  # noqa: F401,F403
from .hashing import *  # noqa: F401,F403
from .sparse_coding import *  # noqa: F401,F403
from .vq import *  # noqa: F401,F403
from .gemm import *  # noqa: F401,F403
