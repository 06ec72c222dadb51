"""Lesson 09: where the time of a training step goes, and how kernels win it back.

A training step of the plain autoencoder (784-512-32-512-784, batch 128) is
about 540 million floating-point operations, and almost all of them are in
eleven matrix products: the forward pass x W of four layers, the weight
gradients x^T da of four, and the input gradients da W^T of three (the first
layer's input is the data: nobody needs its gradient, so a careful step skips
it). A matrix product of n x n matrices does 2 n^3 operations on 3 n^2
numbers: every number fetched from memory is used about n times. That is
what lets BLAS run near the arithmetic peak of the machine.

Everything else in the step -- bias adds, activations and their derivatives,
the loss and its gradient, Adam's update -- does a handful of operations per
number. Those ops are *memory bound*: their time is the number of passes over
memory. NumPy evaluates ``p -= lr * m / (sqrt(v) + eps)`` as one pass per
operator, each writing a temporary array; Adam written this way makes about
fifteen array-sized trips through memory, where a fused loop makes three and
a half (read p, g, m, v; write p, m, v). ``tinyae.kernels`` are such fused
loops, compiled by Numba; the matrix products stay with BLAS (part 3 builds a
Numba matrix product, and shows why the library still uses BLAS).

The lesson measures, on this machine, with the lesson's BLAS thread count
(one by default: a shared machine gives steadier ratios with one;
``--threads`` changes it; the Numba loops are single-threaded either way;
``python -m tinyae.bench`` does the full comparison, with PyTorch):

1. the time of one step with the NumPy reference and with the Numba
   kernels, split into matrix products (BLAS alone on the same shapes), the
   loss, the optimiser and everything else;
2. why fusion helps: Adam and a bias + sigmoid in NumPy and fused, in units
   of one memory pass (a copy of the array);
3. the GEMM ladder: the first layer's product, 128 x 784 times 784 x 512
   in float32, computed by Numba functions that each add one idea of how
   BLAS works -- loop order, cache tiles, packing, a register-blocked
   micro-kernel, two threads -- in GFLOP/s against single-thread OpenBLAS.
   The blocking scheme is Goto and van de Geijn's (K. Goto, R. A. van de
   Geijn, "Anatomy of high-performance matrix multiplication", ACM TOMS
   34(3), 2008), as restated by BLIS (F. G. Van Zee, R. A. van de Geijn,
   "BLIS: a framework for rapidly instantiating BLAS functionality", ACM
   TOMS 41(3), 2015); ``tinyae.kernels.gemm`` writes it out.

   What the ladder shows (one run here, 1 thread; your numbers will vary):
   the naive loop ~0.8 GFLOP/s; the i-p-j loop order ~31, because its inner
   loop runs along rows and vectorises; cache tiles (~22) and packing
   alone (~13) do not help, because those loops are limited by loading and
   storing a row of C for every multiply-add (at most one store per cycle),
   not by fetching B; keeping a 3 x 32 block of C in registers for the
   whole depth of a packed panel removes that limit: ~57-65 GFLOP/s, about
   0.7 of OpenBLAS's ~90. Packing and cache blocking are what feed that
   micro-kernel from L1 and L2. The same micro-kernel with its
   accumulators in a heap array runs at ~3 GFLOP/s: where the compiler may
   keep a value matters more than anything else on the ladder. Two threads
   help only when both cores are free.

Timings on a shared machine are noisy: every number is the best of several
rounds, and every claim compares two numbers measured side by side, with
generous bounds.

Run: python lessons/09_kernels.py
"""

# %%
import numba
import numpy as np

from tinyae import backend
from tinyae.bench import best_time, blas_only_step, step_flops, tinyae_step
from tinyae.data import load_mnist
from tinyae.functional import adam_update as numpy_adam
from tinyae.functional import sigmoid
from tinyae.kernels import adam_update as fused_adam
from tinyae.kernels import gemm
from tinyae.kernels import linear_act_forward
from tinyae.course.lesson import Lesson
from tinyae.optim import Adam
from tinyae.course.plotting import bars, plt
from tinyae.threads import set_threads


# %%
# -- 1. Where a step's time goes ------------------------------------------------

def keep_best(best, key, seconds):
    best[key] = min(best.get(key, np.inf), seconds)


# %%
def step_part(lesson):
    rng = lesson.rng
    print("\n1. One training step of the ae config (float32, batch 128), by part")
    x_all = load_mnist("train", dtype=np.float32)[0][:128 * 40]
    batches = [x_all[i:i + 128] for i in range(0, x_all.shape[0], 128)]
    layers = [(784, 512), (512, 32), (32, 512), (512, 784)]
    blas = blas_only_step(layers, np.float32, rng)

    # Both backends and BLAS alone, measured in interleaved rounds (a burst of
    # load from another process then hits all of them); the best round counts.
    setups = {}
    for name in ("numpy", "numba"):
        with backend.use(name):
            model, step = tinyae_step("ae", np.float32, np.random.default_rng(0))
            for x in batches[:3]:                   # warm up (and compile, for numba)
                step(x)
            _, grads = model.loss_and_grad(batches[0])
            logits = model.decoder.forward(model.encoder.forward(batches[0]))
            setups[name] = (step, Adam(model.params, lr=1e-3),
                            {k: g.copy() for k, g in grads.items()}, logits)
    best = {}
    stream = iter(batches * 100)

    for _ in range(6):
        for name, (step, opt, grads, logits) in setups.items():
            with backend.use(name):
                keep_best(best, (name, "step"),
                          best_time(lambda: step(next(stream)), repeat=1, number=6))
                keep_best(best, (name, "Adam"),
                          best_time(lambda: opt.step(grads), repeat=1, number=6))
                keep_best(best, (name, "loss"), best_time(
                    lambda: backend.ops.bce_with_logits_loss(logits, batches[0]), repeat=1,
                    number=6))
        keep_best(best, "blas", best_time(blas, repeat=1, number=6))

    parts = {}
    for name in setups:
        t_step, t_opt, t_loss, t_blas = (best[(name, "step")], best[(name, "Adam")],
                                         best[(name, "loss")], best["blas"])
        other = max(t_step - t_opt - t_loss - t_blas, 0.0)
        parts[name] = {"matrix products (BLAS)": t_blas, "loss": t_loss, "Adam": t_opt,
                       "the rest": other, "step": t_step}
        lesson.report(f"{name:6s} step {1e3 * t_step:6.2f} ms = BLAS {1e3 * t_blas:5.2f} + "
                      f"loss {1e3 * t_loss:4.2f} + Adam {1e3 * t_opt:4.2f} + rest "
                      f"{1e3 * other:4.2f}; {128 / t_step:,.0f} samples/s, "
                      f"{step_flops(layers) / t_step / 1e9:.1f} GFLOP/s")

    fig, ax = plt.subplots(figsize=(6, 3.8))
    bottom = np.zeros(2)
    for part in ("matrix products (BLAS)", "loss", "Adam", "the rest"):
        vals = np.array([1e3 * parts[b][part] for b in ("numpy", "numba")])
        ax.bar(["NumPy reference", "Numba kernels"], vals, bottom=bottom, label=part)
        bottom += vals
    ax.set_ylabel("ms per step (best of 6 rounds)")
    ax.set_title(f"ae step, float32, batch 128, {lesson.threads} BLAS thread(s)")
    ax.legend(fontsize=8)
    lesson.save(fig, "step_breakdown")

    outside = {b: parts[b]["step"] - parts[b]["matrix products (BLAS)"] for b in parts}
    lesson.report(f"time outside matrix products: NumPy {1e3 * outside['numpy']:.2f} ms, "
                  f"Numba {1e3 * outside['numba']:.2f} ms; BLAS share of the Numba step "
                  f"{parts['numba']['matrix products (BLAS)'] / parts['numba']['step']:.0%}")
    lesson.claim("step time, NumPy reference / Numba kernels",
                 parts["numpy"]["step"] / parts["numba"]["step"], gt=1.05)
    lesson.claim("Adam step time, NumPy / fused kernel",
                 parts["numpy"]["Adam"] / parts["numba"]["Adam"], gt=2.0)


# %%
# -- 2. Why fusion helps: passes over memory -------------------------------------

def fusion_part(lesson):
    rng = lesson.rng
    print("\n2. Memory passes: Adam and bias + sigmoid on 784 x 512 float32 arrays")
    shape = (784, 512)
    p = rng.standard_normal(shape, dtype=np.float32)
    g = rng.standard_normal(shape, dtype=np.float32)
    m, v = np.zeros(shape, np.float32), np.ones(shape, np.float32)
    dst = np.empty_like(p)
    t_copy = best_time(lambda: np.copyto(dst, p), repeat=7, number=10)
    t_np_adam = best_time(lambda: numpy_adam(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 10),
                          repeat=7, number=5)
    t_fu_adam = best_time(lambda: fused_adam(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 10),
                          repeat=7, number=5)
    rng.standard_normal((128, 512), dtype=np.float32)    # unused; keeps the later draws
    W1 = rng.standard_normal((512, 512), dtype=np.float32) / 20
    b1 = rng.standard_normal(512, dtype=np.float32)
    xa = rng.standard_normal((128, 512), dtype=np.float32)
    t_mm = best_time(lambda: xa @ W1, repeat=7, number=10)
    t_np_act = best_time(lambda: sigmoid(xa @ W1 + b1), repeat=7, number=10) - t_mm
    t_fu_act = best_time(lambda: linear_act_forward(xa, W1, b1, "sigmoid"), repeat=7,
                         number=10) - t_mm
    passes = {"copy (1 pass)": 1.0, "Adam NumPy": t_np_adam / t_copy,
              "Adam fused": t_fu_adam / t_copy}
    lesson.report("Adam in copy-passes: NumPy {:.1f}, fused {:.1f}; bias+sigmoid after the "
                  "product: NumPy {:.0f} us, fused {:.0f} us".format(
                      passes["Adam NumPy"], passes["Adam fused"], 1e6 * t_np_act,
                      1e6 * t_fu_act))
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    axes[0].bar(list(passes), list(passes.values()), color=["gray", "tab:red", "tab:green"])
    axes[0].set_ylabel("time / time of one array copy")
    axes[0].set_title("Adam on 784 x 512 float32")
    axes[1].bar(["NumPy: + b, sigmoid", "fused kernel"], [1e6 * t_np_act, 1e6 * t_fu_act],
                color=["tab:red", "tab:green"])
    axes[1].set_ylabel("us beyond the matrix product")
    axes[1].set_title("bias + sigmoid on 128 x 512")
    lesson.save(fig, "fusion")
    lesson.claim("Adam in memory passes, NumPy / fused", t_np_adam / t_fu_adam, gt=2.0)


# %%
# -- 3. The GEMM ladder ------------------------------------------------------------
#
# C = A B at the shape of the first layer's forward pass, 128 x 784 times
# 784 x 512 float32, one rung at a time. Rungs 4 to 7 use the pieces of
# ``tinyae.kernels.gemm`` (its packing routine; its five loops and its
# micro-kernel), where the blocking scheme is written out.

@numba.njit(cache=True)
def naive_matmul(A, B):
    """Rung 1, C = A B by the definition: C[i, j] = sum_p A[i, p] B[p, j].

    The inner loop walks a column of B, a stride of a whole row (2 KiB here)
    per step, and adds into one scalar: a sum LLVM may not reorder, so no
    SIMD, and a new cache line of B for every multiply-add.
    """
    n, k = A.shape
    m = B.shape[1]
    C = np.zeros((n, m), A.dtype)
    for i in range(n):
        for j in range(m):
            s = A.dtype.type(0)
            for p in range(k):              # B[p, j]: a stride of m elements
                s += A[i, p] * B[p, j]
            C[i, j] = s
    return C


# %%
@numba.njit(cache=True)
def ipj_matmul(A, B):
    """Rung 2, the same sums in the loop order i, p, j: C[i, :] += A[i, p] B[p, :].

    The inner loop now runs along a row of B and a row of C, both
    contiguous, and its iterations are independent: LLVM turns it into
    8-wide AVX2 instructions. Nothing else changed. (The row views
    ``c``, ``b`` are indexed from 0 over ``range(c.size)``: an index the
    compiler cannot prove non-negative costs a branch per element, since
    Numba accepts negative indices, and the branch stops vectorisation.)
    """
    n, k = A.shape
    C = np.zeros((n, B.shape[1]), A.dtype)
    for i in range(n):
        c = C[i]                            # a view: no copy
        for p in range(k):
            a = A[i, p]
            b = B[p]
            for j in range(c.size):
                c[j] += a * b[j]
    return C


# %%
@numba.njit(cache=True)
def tiled_matmul(A, B):
    """Rung 3, the i-p-j loop in 64 x 64 tiles (cache blocking).

    A row of C is 2 KiB and B is 1.6 MiB: in rung 2 every row of C streams
    all of B from L2/L3. Here a 64 x 64 tile of B (16 KiB) stays in L1 while
    64 rows of A use it. At this shape it is no faster than rung 2 (here
    ~22 against ~31 GFLOP/s): fetching B was not what limited rung 2. Both
    load and store a piece of C for every vector multiply-add, and a core
    stores at most one vector per cycle; the tiles also run the inner loop
    64 long instead of 512, paying its overhead eight times as often.
    """
    T = 64
    n, k = A.shape
    m = B.shape[1]
    C = np.zeros((n, m), A.dtype)
    for i0 in range(0, n, T):
        for p0 in range(0, k, T):
            for j0 in range(0, m, T):
                j1 = min(j0 + T, m)
                for i in range(i0, min(i0 + T, n)):
                    c = C[i, j0:j1]
                    for p in range(p0, min(p0 + T, k)):
                        a = A[i, p]
                        b = B[p, j0:j1]
                        for j in range(c.size):
                            c[j] += a * b[j]
    return C


# %%
@numba.njit(cache=True)
def packed_matmul(A, B):
    """Rung 4, tiles whose B is packed: kc rows of B copied, before use,
    into slabs of nr = 32 (float32) columns, each slab one contiguous
    kc x nr array (``gemm.pack``).

    A tile of B in rung 3 is 64 rows 2 KiB apart: 64 scattered stretches of
    memory that compete for the same cache sets and TLB entries. A packed
    slab is one stretch, read front to back, and every slab has the same
    layout whatever the shape or strides of B (``b.T`` costs nothing extra).
    The copy is paid once per kc x n panel and used by all m rows. On its
    own it makes things worse (~13 GFLOP/s here): the inner loop is now 32
    long, and C is still loaded and stored at every step. Packing pays in
    rung 6, whose micro-kernel reads a slab kc times over.
    """
    m, k = A.shape
    n = B.shape[1]
    kc_max = gemm.KC
    C = np.zeros((m, n), A.dtype)
    Bp = np.empty(((n + 31) // 32, kc_max, 32), A.dtype)
    for pc in range(0, k, kc_max):
        kc = min(kc_max, k - pc)
        gemm.pack(B, pc, kc, 0, n, Bp)
        for s in range(Bp.shape[0]):
            slab = Bp[s]
            for i in range(m):
                c = C[i, 32 * s:min(32 * s + 32, n)]
                for p in range(kc):
                    a = A[i, pc + p]
                    b = slab[p]
                    for j in range(c.size):
                        c[j] += a * b[j]
    return C


# %%
def heap_micro_matmul(A, B):
    """Rung 5 (a wrong turn worth seeing), the register-blocked GEMM of
    rung 6 with one change: its 3 x 32 accumulators are a heap array
    (``np.empty`` inside the micro-kernel) instead of a stack tile.

    LLVM cannot prove that heap memory is private to the loop, so it keeps
    ``acc`` in memory: every step loads and stores the whole tile (and
    re-reads the packed slabs, which might alias it).
    """
    m, n = A.shape[0], B.shape[1]
    return gemm.gemm_into(A, B, np.empty((m, n), A.dtype), 0, n, np.zeros(n, A.dtype), -1,
                          False)


# %%
def register_gemm(A, B):
    """Rung 6, the GEMM of ``tinyae.kernels.gemm``: both operands packed
    (A into slabs of mr = 3 rows), the five loops of Goto's scheme, and a
    3 x 32 micro-kernel whose 96 accumulators stay in twelve ymm registers
    for the whole depth kc: each step is 4 vector loads of B, 3 broadcasts
    of A and 12 FMAs, with no load or store of C.
    """
    return gemm.matmul(A, B)


# %%
@numba.njit(cache=True, parallel=True)
def two_thread_gemm(A, B):
    """Rung 7, rung 6 on two threads: each computes half of C's columns
    (a multiple of nr, so no slab is split) with its own packing buffers.
    """
    m, n = A.shape[0], B.shape[1]
    C = np.empty((m, n), A.dtype)
    no_bias = np.zeros(n, A.dtype)
    half = min(n, (n + 63) // 64 * 32)
    for t in numba.prange(2):
        lo, hi = (0, half) if t == 0 else (half, n)
        if hi > lo:
            gemm.gemm_into(A, B, C, lo, hi, no_bias, -1, True)
    return C


#: The ladder, in order: (label, function).
LADDER = [
    ("1 naive i-j-p", naive_matmul), ("2 loop order i-p-j", ipj_matmul),
    ("3 cache tiles", tiled_matmul), ("4 packed B", packed_matmul),
    ("5 micro-kernel, heap acc", heap_micro_matmul),
    ("6 micro-kernel, registers", register_gemm),
    ("7 two threads", two_thread_gemm),
]


# %%
def ladder_part(lesson):
    rng = lesson.rng
    m, k, n = 128, 784, 512
    print(f"\n3. The GEMM ladder at {m} x {k} x {n}, float32, against 1-thread OpenBLAS")
    A = rng.standard_normal((m, k), dtype=np.float32)
    B = rng.standard_normal((k, n), dtype=np.float32)
    blas = lambda: A @ B                            # noqa: E731
    best = {}
    # Two OpenBLAS threads before any Numba parallel region has started its
    # pool, to compare with the same product right after one (rung 7).
    set_threads(2)
    keep_best(best, "BLAS 2 threads, before", best_time(blas, repeat=5, number=5))
    set_threads(1)              # the reference: one thread, whatever --threads says

    ref = A @ B
    bound = k * np.finfo(np.float32).eps * (np.abs(A) @ np.abs(B))
    for label, f in LADDER:                        # compile (or load), and check
        assert np.all(np.abs(f(A, B) - ref) <= bound), f"{label}: wrong product"

    for _ in range(4 if not lesson.full else 10):  # interleaved rounds, best counts
        keep_best(best, "BLAS", best_time(blas, repeat=3, number=5))
        for label, f in LADDER[:-1]:
            slow = label[0] in "15"
            keep_best(best, label, best_time(lambda: f(A, B), repeat=1 if slow else 3,
                                             number=1 if slow else 3))
        set_threads(2)
        keep_best(best, LADDER[-1][0],
                  best_time(lambda: two_thread_gemm(A, B), repeat=3, number=3))
        keep_best(best, "BLAS 2 threads, after", best_time(blas, repeat=3, number=5))
        set_threads(1)
    set_threads(lesson.threads)
    rate = {label: 2.0 * m * k * n / t / 1e9 for label, t in best.items()}
    for label, _ in LADDER:
        lesson.report(f"{label:28s} {rate[label]:7.2f} GFLOP/s = "
                      f"{rate[label] / rate['BLAS']:5.1%} of 1-thread OpenBLAS")
    lesson.report(f"OpenBLAS: 1 thread {rate['BLAS']:.1f} GFLOP/s; 2 threads "
                  f"{rate['BLAS 2 threads, before']:.1f} before any Numba parallel region, "
                  f"{rate['BLAS 2 threads, after']:.1f} right after rung 7 (Numba threading "
                  f"layer: {numba.threading_layer()})")

    fig = bars({label: rate[label] for label, _ in LADDER}, logy=True,
               ylabel="GFLOP/s (best of interleaved rounds)",
               title=f"C = A B, {m} x {k} x {n} float32")
    ax = fig.axes[0]
    ax.axhline(rate["BLAS"], ls="--", color="gray")
    ax.set_ylim(top=2 * rate["BLAS"])
    ax.annotate(f"OpenBLAS, 1 thread: {rate['BLAS']:.0f} GFLOP/s",
                (0, rate["BLAS"]), va="bottom", fontsize=8, color="gray")
    lesson.save(fig, "gemm_ladder")

    lesson.claim("BLAS / naive triple loop", rate["BLAS"] / rate["1 naive i-j-p"], gt=10.0)
    lesson.claim("loop order i-p-j / naive", rate["2 loop order i-p-j"]
                 / rate["1 naive i-j-p"], gt=3.0)
    lesson.claim("register micro-kernel / cache tiles", rate["6 micro-kernel, registers"]
                 / rate["3 cache tiles"], gt=1.5)
    lesson.claim("accumulators in registers / on the heap", rate["6 micro-kernel, registers"]
                 / rate["5 micro-kernel, heap acc"], gt=3.0)
    lesson.claim("best 1-thread Numba GEMM / 1-thread OpenBLAS (the issue asks >= 0.5)",
                 rate["6 micro-kernel, registers"] / rate["BLAS"], gt=0.4)


# %%
def main():
    lesson = Lesson("09_kernels", __doc__)
    step_part(lesson)
    fusion_part(lesson)
    ladder_part(lesson)
    lesson.finish()


# %%
if __name__ == "__main__":
    main()
