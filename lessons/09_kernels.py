"""Lesson 09: where the time of a training step goes, and how kernels win it back."""

# %% [markdown]
# # Lesson 09: where the time of a training step goes, and how kernels win it back
#
# *Optional, advanced. This lesson is about speed, not about autoencoders: no later
# lesson depends on it, and you can skip it without losing the thread of the course.*
#
# **You will learn** to count the floating-point operations of a training step and see
# why nearly all of them sit in matrix products; why everything else (activations, the
# loss, Adam) is limited by memory traffic instead, and how fusing those operations
# into one compiled loop (`tinyae.kernels`, written with Numba) saves passes over
# memory; and how a fast matrix product is built, one idea at a time, from the naive
# triple loop up to a register-blocked micro-kernel, measured against OpenBLAS.
#
# **It assumes** lesson 02 (the training step of an MLP autoencoder: forward, backward,
# Adam). It helps to have seen a loop compiled with Numba (`@numba.njit`), but nothing
# more.
#
# Timings on a shared machine are noisy. Every number below is the best of several
# rounds, every claim compares two numbers measured side by side, with generous
# bounds, and the prose quotes no timing: read the ones your run prints. The BLAS
# thread count is the lesson's (one by default; `--threads` changes it; the Numba loops
# are single-threaded either way). `python -m tinyae.bench` does the full comparison,
# with PyTorch.

# %%
import numba
import numpy as np

from tinyae import backend
from tinyae.bench import best_time, blas_only_step, step_flops, step_matmuls, tinyae_step
from tinyae.course.lesson import Lesson
from tinyae.course.plotting.kernels import fusion, gemm_ladder, step_breakdown
from tinyae.data import load_mnist
from tinyae.functional import adam_update as numpy_adam
from tinyae.functional import sigmoid
from tinyae.kernels import adam_update as fused_adam
from tinyae.kernels import gemm
from tinyae.kernels import linear_act_forward
from tinyae.optim import Adam
from tinyae.threads import set_threads

lesson = Lesson("09_kernels", __doc__)
rng = lesson.rng


def keep_best(best, key, seconds):
    """Keep the smallest time seen for ``key``."""
    best[key] = min(best.get(key, np.inf), seconds)


# %% [markdown]
# ## 1. Counting the work in a training step
#
# Take the plain autoencoder 784-512-32-512-784 and a batch of $N = 128$. A dense layer
# with $n_{in}$ inputs and $n_{out}$ outputs does three matrix products per step:
#
# $$
# \underbrace{a = xW}_{N \times n_{in}\ \cdot\ n_{in} \times n_{out}}, \qquad
# \underbrace{\frac{\partial L}{\partial W} = x^\top \frac{\partial L}{\partial a}}_{n_{in} \times N\ \cdot\ N \times n_{out}}, \qquad
# \underbrace{\frac{\partial L}{\partial x} = \frac{\partial L}{\partial a} W^\top}_{N \times n_{out}\ \cdot\ n_{out} \times n_{in}} ,
# $$
#
# each a product of an $m \times k$ and a $k \times n$ matrix, which costs $2mkn$
# floating-point operations (a multiply and an add per term), here $2 N n_{in}
# n_{out}$ each. The first layer's input is the data, whose gradient nobody needs, so a
# careful step does 11 products, not 12:
#
# $$
# \text{FLOPs} = 2N\Big(3 \sum_{\ell} n_{in}^{(\ell)} n_{out}^{(\ell)} - 784 \cdot 512\Big)
# = 256\,\big(3 \cdot 835{,}584 - 401{,}408\big).
# $$
#
# Why products are cheap per operation: a product of two $n \times n$ matrices does
# $2n^3$ operations on $3n^2$ numbers, so each number fetched from memory is used about
# $n$ times. That *arithmetic intensity* is what lets BLAS run near the arithmetic peak
# of the machine. Everything else in the step (bias adds, activations and their
# derivatives, the loss and its gradient, Adam's update) does a handful of operations
# per number: those operations are **memory bound**, their time is the number of
# passes over memory.

# %%
layers = [(784, 512), (512, 32), (32, 512), (512, 784)]
lesson.report(f"one training step of 784-512-32-512-784 at batch 128: "
              f"{len(step_matmuls(layers))} matrix products, "
              f"{step_flops(layers) / 1e6:.0f} million floating-point operations")

# %% [markdown]
# **539** million operations in **11** products, and nearly nothing outside them. Yet
# the step's time is not all products, as we now measure.
#
# ## 2. Where a step's time goes
#
# We time one step (loss and gradient, then Adam) with the NumPy reference backend and
# with the Numba kernels, and beside them the step's 11 products alone (BLAS on the same
# shapes), the loss alone and Adam alone. What is left is "the rest": bias adds,
# activations and their backward passes. The measurements are interleaved in rounds,
# so a burst of load from another process hits all of them, and the best round counts.

# %%
x_all = load_mnist("train", dtype=np.float32)[0][:128 * 40]
batches = [x_all[i:i + 128] for i in range(0, x_all.shape[0], 128)]
blas = blas_only_step(layers, np.float32, rng)
setups = {}
for name in ("numpy", "numba"):
    with backend.use(name):
        model, step = tinyae_step("ae", np.float32, np.random.default_rng(0))
        for x in batches[:3]:                       # warm up (and compile, for numba)
            step(x)
        _, grads = model.loss_and_grad(batches[0])
        logits = model.decoder.forward(model.encoder.forward(batches[0]))
        setups[name] = (step, Adam(model.params, lr=1e-3),
                        {k: g.copy() for k, g in grads.items()}, logits)

# %%
best = {}
stream = iter(batches * 100)
for _ in range(6):
    for name, (step, opt, grads, logits) in setups.items():
        with backend.use(name):
            keep_best(best, (name, "step"),
                      best_time(lambda: step(next(stream)), repeat=1, number=6))
            keep_best(best, (name, "Adam"), best_time(lambda: opt.step(grads), repeat=1,
                                                      number=6))
            keep_best(best, (name, "loss"), best_time(
                lambda: backend.ops.bce_with_logits_loss(logits, batches[0]), repeat=1,
                number=6))
    keep_best(best, "blas", best_time(blas, repeat=1, number=6))

# %%
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
outside = {b: parts[b]["step"] - parts[b]["matrix products (BLAS)"] for b in parts}
lesson.report(f"time outside matrix products: NumPy {1e3 * outside['numpy']:.2f} ms, "
              f"Numba {1e3 * outside['numba']:.2f} ms; BLAS share of the Numba step "
              f"{parts['numba']['matrix products (BLAS)'] / parts['numba']['step']:.0%}")

# %%
stack = ("matrix products (BLAS)", "loss", "Adam", "the rest")
lesson.save(step_breakdown({label: {p: parts[b][p] for p in stack} for label, b in
                            (("NumPy reference", "numpy"), ("Numba kernels", "numba"))},
                           title=f"ae step, float32, batch 128, {lesson.threads} BLAS "
                                 f"thread(s)"), "step_breakdown")

# %% [markdown]
# Both bars stand on the same block of matrix products (the same BLAS does them). The
# NumPy bar carries a slab of Adam and a thinner one for the loss; in the Numba bar those
# nearly vanish, and what is left above the products is mostly "the rest", the
# activations and bias adds. The products, almost all of the arithmetic, are most but
# not all of the time.

# %%
lesson.claim("step time, NumPy reference / Numba kernels",
             parts["numpy"]["step"] / parts["numba"]["step"], gt=1.05)
lesson.claim("Adam step time, NumPy / fused kernel",
             parts["numpy"]["Adam"] / parts["numba"]["Adam"], gt=2.0)

# %% [markdown]
# ## 3. Why fusion helps: passes over memory
#
# Adam's update, per parameter array $p$ with gradient $g$ and moments $m$, $v$:
#
# $$
# m \leftarrow \beta_1 m + (1 - \beta_1) g, \qquad v \leftarrow \beta_2 v + (1 - \beta_2) g^2,
# \qquad p \leftarrow p - \frac{\eta}{1 - \beta_1^t}\, \frac{m}{\sqrt{v / (1 - \beta_2^t)} + \epsilon} .
# $$
#
# NumPy evaluates this one operator at a time, each reading its operands from memory
# and writing a temporary array. Count array-sized trips in units of one copy (one read
# and one write): `m *= b1` is 1, `(1 - b1) * g` is 1, adding it into `m` 1.5, and so
# on; the reference `tinyae.functional.adam_update` comes to about fifteen. A fused loop
# reads $p, g, m, v$ once and writes $p, m, v$ once, element by element: 7 trips, **3.5**
# copies' worth. So the fused update should take a few times the time of a copy, the
# NumPy one several times more. We time both on one 784 x 512 float32 array, in units
# of `np.copyto`, and, the same way, a bias add and sigmoid after a 128 x 512 product.

# %%
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
lesson.report(f"Adam in copy-passes: NumPy {passes['Adam NumPy']:.1f}, fused "
              f"{passes['Adam fused']:.1f} (a fused loop's ideal: {7 / 2:.1f}); bias+sigmoid "
              f"after the product: NumPy {1e6 * t_np_act:.0f} us, fused {1e6 * t_fu_act:.0f} us")

# %%
lesson.save(fusion(passes, {"NumPy: + b, sigmoid": t_np_act, "fused kernel": t_fu_act}),
            "fusion")

# %% [markdown]
# On the left, the fused Adam sits close to its ideal of 3.5 copies, while the NumPy one
# costs several times more: at least the fifteen passes counted above, and often many
# more, because each temporary array must also be allocated, and when the allocator
# hands back fresh pages from the system, touching them costs more than the arithmetic
# (so this printed number varies from run to run more than any other).
# On the right, the fused bias + sigmoid saves the temporaries of `+ b` and of the
# sigmoid, but the sigmoid's exponentials are real arithmetic, so the saving is smaller.

# %%
lesson.claim("Adam in memory passes, NumPy / fused", t_np_adam / t_fu_adam, gt=2.0)

# %% [markdown]
# ## 4. The GEMM ladder: how a fast matrix product is built
#
# The kernels leave the products to BLAS. Why not write those in Numba too? We build
# $C = AB$ at the shape of the first layer's forward pass, 128 x 784 times 784 x 512
# in float32, one idea at a time, and measure each rung in GFLOP/s ($2mkn$ divided by
# the time) against single-thread OpenBLAS. The blocking scheme is Goto and van de
# Geijn's (2008), as restated by BLIS (Van Zee and van de Geijn, 2015);
# `tinyae.kernels.gemm` writes it out. The rungs, each a cell below with its reasoning
# in the docstring:
#
# 1. the definition, $C_{ij} = \sum_p A_{ip} B_{pj}$, inner loop down a column of $B$;
# 2. the same sums in the order $i, p, j$: the inner loop runs along rows, and
#    vectorises;
# 3. cache tiles of 64 x 64;
# 4. tiles whose $B$ is packed into contiguous slabs;
# 5. a register-blocked micro-kernel whose accumulators live in a heap array (a wrong
#    turn worth seeing);
# 6. the same micro-kernel with its 3 x 32 accumulators in registers for the whole depth
#    of a packed panel, fed by packing and cache blocking;
# 7. rung 6 on two threads.
#
# The arithmetic of rung 6: each step of its inner loop does 4 vector loads of $B$, 3
# broadcasts of $A$ and 12 fused multiply-adds of 8 lanes, $12 \times 8 \times 2 = 192$
# operations, and no load or store of $C$ at all; rungs 2 to 4 load and store a piece of
# $C$ for every vector multiply-add, and a core stores at most one vector per cycle.

# %%
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


# %% [markdown]
# Each rung is first checked against `A @ B` (within the rounding of a float32 sum of 784
# terms), then timed in interleaved rounds, the best counting. Two OpenBLAS threads are
# also timed before any Numba parallel region has started its thread pool, and right
# after rung 7.

# %%
m_, k_, n_ = 128, 784, 512
A = rng.standard_normal((m_, k_), dtype=np.float32)
B = rng.standard_normal((k_, n_), dtype=np.float32)
blas = lambda: A @ B                                # noqa: E731
best = {}
set_threads(2)
keep_best(best, "BLAS 2 threads, before", best_time(blas, repeat=5, number=5))
set_threads(1)              # the reference: one thread, whatever --threads says
ref = A @ B
bound = k_ * np.finfo(np.float32).eps * (np.abs(A) @ np.abs(B))
for label, f in LADDER:                            # compile (or load), and check
    assert np.all(np.abs(f(A, B) - ref) <= bound), f"{label}: wrong product"

# %%
for _ in range(8 if not lesson.full else 16):      # interleaved rounds, best counts
    keep_best(best, "BLAS", best_time(blas, repeat=3, number=5))
    for label, f in LADDER[:-1]:
        slow = label[0] in "15"
        keep_best(best, label, best_time(lambda: f(A, B), repeat=1 if slow else 3,
                                         number=1 if slow else 3))
    set_threads(2)
    keep_best(best, LADDER[-1][0], best_time(lambda: two_thread_gemm(A, B), repeat=3, number=3))
    keep_best(best, "BLAS 2 threads, after", best_time(blas, repeat=3, number=5))
    set_threads(1)
set_threads(lesson.threads)

# %%
rate = {label: 2.0 * m_ * k_ * n_ / t / 1e9 for label, t in best.items()}
for label, _ in LADDER:
    lesson.report(f"{label:28s} {rate[label]:7.2f} GFLOP/s = "
                  f"{rate[label] / rate['BLAS']:5.1%} of 1-thread OpenBLAS")
lesson.report(f"OpenBLAS: 1 thread {rate['BLAS']:.1f} GFLOP/s; 2 threads "
              f"{rate['BLAS 2 threads, before']:.1f} before any Numba parallel region, "
              f"{rate['BLAS 2 threads, after']:.1f} right after rung 7 (Numba threading "
              f"layer: {numba.threading_layer()})")

# %%
lesson.save(gemm_ladder({label: rate[label] for label, _ in LADDER}, blas_rate=rate["BLAS"],
                        title=f"C = A B, {m_} x {k_} x {n_} float32"), "gemm_ladder")

# %% [markdown]
# Read the bars top to bottom. The loop order alone (rung 2) buys more than an order of
# magnitude over the naive loop. Cache tiles and packing (rungs 3 and 4) do not help at
# this shape, and can hurt: fetching $B$ was not what limited rung 2, storing $C$ was.
# Keeping $C$ in registers (rung 6) removes that limit, and packing and cache blocking
# are what feed its micro-kernel from L1 and L2; with a core to itself it is the fastest
# Numba rung, though on a busy machine it can fall back to rung 2's level (compare your
# printed rates). The same micro-kernel with its
# accumulators on the heap (rung 5) is among the slowest rungs: where the compiler may
# keep a value matters more than anything else on the ladder. Rungs 6 and 7 are the
# most sensitive to other work on the machine: rung 6 needs a core to itself to approach
# OpenBLAS (the last claim), and two threads (rung 7) help only when both cores are
# free.

# %%
lesson.claim("BLAS / naive triple loop", rate["BLAS"] / rate["1 naive i-j-p"], gt=10.0)
lesson.claim("loop order i-p-j / naive", rate["2 loop order i-p-j"]
             / rate["1 naive i-j-p"], gt=3.0)
lesson.claim("register micro-kernel / cache tiles", rate["6 micro-kernel, registers"]
             / rate["3 cache tiles"], gt=1.5)
lesson.claim("accumulators in registers / on the heap", rate["6 micro-kernel, registers"]
             / rate["5 micro-kernel, heap acc"], gt=3.0)
lesson.claim("best 1-thread Numba GEMM / 1-thread OpenBLAS (the issue asks >= 0.5)",
             rate["6 micro-kernel, registers"] / rate["BLAS"], gt=0.4)

# %% [markdown]
# ## Check your understanding
#
# 1. Using the formula of section 1, how many operations would a step of the same
#    autoencoder at batch 256 do, and how many if the first layer's input gradient were
#    computed too? Check with `step_flops` in a new cell.
# 2. Section 2 prints the time outside the matrix products for both backends. Which of
#    the four parts does the Numba backend leave largest, and which operations of the
#    step are in it?
# 3. Count the array passes of `tinyae.functional.adam_update` line by line (a read and
#    a write make one copy's worth). How close to your count is the NumPy Adam's
#    printed time in copy-passes, and why may it be higher?
# 4. Rungs 3 and 4 of the ladder add cache tiles and packing, ideas that make BLAS fast,
#    yet print no faster than rung 2. What limits rungs 2 to 4, and which rung removes
#    that limit?
# 5. Rerun the lesson with `--threads 2` (or set `TINYAE_LESSON_ARGS="--threads 2"` in a
#    notebook). Which printed numbers change, and why does the last claim still compare
#    with *one*-thread OpenBLAS?
#
# ## Exercises
#
# Exercise 15 (`ex15_blocked_matmul.py`) asks for the loops of a blocked matrix
# product around a given tile kernel, for any sizes and tile size. Try it: write
# rung 2b, the i-p-j loop with the roles of the two inner loops' arrays swapped so the
# inner loop runs down a column of $C$ (`for j: for p: for i:`), add it to `LADDER`
# and predict, before you time it, where it lands between rungs 1 and 2.
#
# ## References
#
# * Goto, K. and van de Geijn, R. A. (2008). Anatomy of high-performance matrix
#   multiplication. *ACM Transactions on Mathematical Software* 34(3), article 12.
#   The layered blocking of GEMM (packing, cache blocks, the micro-kernel) used in
#   rungs 4 to 7.
# * Van Zee, F. G. and van de Geijn, R. A. (2015). BLIS: a framework for rapidly
#   instantiating BLAS functionality. *ACM Transactions on Mathematical Software* 41(3),
#   article 14. The five loops around the micro-kernel, as `tinyae.kernels.gemm` writes
#   them.
# * Kingma, D. P. and Ba, J. (2015). Adam: a method for stochastic optimization.
#   *International Conference on Learning Representations (ICLR)*. Algorithm 1, the
#   update fused in section 3.
# * Lam, S. K., Pitrou, A. and Seibert, S. (2015). Numba: a LLVM-based Python JIT
#   compiler. *Proceedings of the Second Workshop on the LLVM Compiler Infrastructure in
#   HPC (LLVM '15)*, ACM. The compiler of `tinyae.kernels`.

# %%
lesson.finish()
