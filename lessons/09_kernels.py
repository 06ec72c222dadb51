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
loops, compiled by Numba; the matrix products stay with BLAS.

The lesson measures, on this machine, with the lesson's BLAS thread count
(one by default: a shared machine gives steadier ratios with one;
``--threads`` changes it; the Numba loops are single-threaded either way;
``python -m tinyae.bench`` does the full comparison, with PyTorch):

1. the time of one step with the NumPy reference and with the Numba
   kernels, split into matrix products (BLAS alone on the same shapes), the
   loss, the optimiser and everything else;
2. why fusion helps: Adam and a bias + sigmoid in NumPy and fused, in units
   of one memory pass (a copy of the array);
3. a naive triple loop, a tiled (cache-blocked) loop and BLAS, in GFLOP/s
   over sizes, against the machine's measured peak (the best BLAS rate seen,
   up to n = 1024). The naive loop walks a column of B with a stride of a
   whole row and adds into one scalar (a sum LLVM may not reorder, so no
   SIMD); the tiled loop works on 64 x 64 blocks that fit in cache, and its
   inner loop runs along rows of B and C, which the compiler vectorises: most
   of its gain is that loop order, not the tiles. BLAS adds register blocking,
   packing and hand-written SIMD kernels.

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
from tinyae.kernels import linear_act_forward
from tinyae.lesson import Lesson
from tinyae.optim import Adam
from tinyae.plotting import plt


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
# -- 3. Three matrix multiplies ---------------------------------------------------

@numba.njit(cache=True)
def naive_matmul(A, B):
    """C = A B by the definition: C[i, j] = sum_p A[i, p] B[p, j]."""
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
def tiled_matmul(A, B):
    """C = A B in 64 x 64 tiles; the inner loop runs along a row of B and C.

    The inner loop indexes slices from 0 (``c[j]``, ``b[j]``), not C[i, j0 + j]:
    Numba accepts negative indices (counted from the end), and an index the
    compiler cannot prove non-negative costs a branch per element, which
    stops SIMD vectorisation. Indexing from 0 over ``range(c.size)`` lets the
    compiler vectorise the loop.
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
                    c = C[i, j0:j1]                 # a view: no copy
                    for p in range(p0, min(p0 + T, k)):
                        a = A[i, p]
                        b = B[p, j0:j1]
                        for j in range(c.size):
                            c[j] += a * b[j]
    return C


# %%
def matmul_part(lesson):
    rng = lesson.rng
    print(f"\n3. Naive triple loop, tiled loop and BLAS (float32, {lesson.threads} "
          f"BLAS thread(s))")
    small = rng.standard_normal((8, 8), dtype=np.float32)
    for f in (naive_matmul, tiled_matmul):            # compile (or load from cache)
        np.testing.assert_allclose(f(small, small), small @ small, rtol=1e-5, atol=1e-5)
    sizes = [64, 128, 256, 384]
    rates = {"naive loop": [], "tiled loop": [], "BLAS": []}
    for n in sizes:
        A, B = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
        flops = 2.0 * n ** 3
        reps = 3 if n <= 256 else 2
        rates["naive loop"].append(
            flops / best_time(lambda: naive_matmul(A, B), repeat=reps) / 1e9)
        rates["tiled loop"].append(
            flops / best_time(lambda: tiled_matmul(A, B), repeat=reps) / 1e9)
        rates["BLAS"].append(flops / best_time(lambda: A @ B, repeat=5, number=5) / 1e9)
        lesson.report(f"n={n:4d}: naive {rates['naive loop'][-1]:6.2f}, tiled "
                      f"{rates['tiled loop'][-1]:6.2f}, BLAS {rates['BLAS'][-1]:6.1f} GFLOP/s")
    big = []
    for n in (512, 1024):
        A, B = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
        big.append(2.0 * n ** 3 / best_time(lambda: A @ B, repeat=4) / 1e9)
    peak = max(rates["BLAS"] + big)
    lesson.report(f"BLAS at n=512, 1024: {big[0]:.1f}, {big[1]:.1f} GFLOP/s; measured peak "
                  f"(best BLAS rate seen, {lesson.threads} thread(s)): {peak:.1f} GFLOP/s")

    fig, ax = plt.subplots(figsize=(6, 4))
    for label, ys in rates.items():
        ax.plot(sizes, ys, marker="o", label=label)
    ax.axhline(peak, ls="--", color="gray")
    ax.annotate(f"measured peak {peak:.0f} GFLOP/s (best BLAS rate)", (sizes[0], peak),
                va="bottom", fontsize=8, color="gray")
    ax.set_yscale("log")
    ax.set_xlabel("n (n x n times n x n, float32)")
    ax.set_ylabel(f"GFLOP/s ({lesson.threads} BLAS thread(s))")
    ax.legend()
    ax.grid(alpha=0.3)
    lesson.save(fig, "matmul_gflops")

    i256 = sizes.index(256)
    lesson.claim("BLAS / naive triple loop at n=256",
                 rates["BLAS"][i256] / rates["naive loop"][i256], gt=10.0)
    lesson.claim("tiled loop / naive triple loop at n=256",
                 rates["tiled loop"][i256] / rates["naive loop"][i256], gt=3.0)
    lesson.claim("BLAS / tiled loop at n=256",
                 rates["BLAS"][i256] / rates["tiled loop"][i256], gt=1.5)


# %%
def main():
    lesson = Lesson("09_kernels", __doc__)
    step_part(lesson)
    fusion_part(lesson)
    matmul_part(lesson)
    lesson.finish()


# %%
if __name__ == "__main__":
    main()
