"""Lesson 00: gradient checking — how to trust a backward pass you wrote by hand.

Every gradient in tinyae is derived on paper and coded by hand. Before a
single model is trained, each one is compared with a number that needs no
derivation at all: the central finite difference

    df/dx_i  ~  (f(x + h e_i) - f(x - h e_i)) / (2 h).

Taylor expansion gives its error: the even terms cancel, so the truncation
error is (h^2 / 6) f'''(x) — quadratic in h. But each f(.) is rounded to
about eps |f| (eps = 1.1e-16 in float64, 6e-8 in float32), and dividing by 2h
turns that into a rounding error of about eps |f| / h. Shrinking h trades
one for the other: the total error is U-shaped in h. In float64 the bottom of
the U lies near 1e-10 or below; in float32 it never gets below about 1e-4,
which is why gradient checks are done in float64, always.

How close is close enough? An absolute difference means nothing without a
scale (1e-6 is tiny for a gradient of 1e3 and huge for one of 1e-9), so we
use the relative error

    err = max|a - n| / max(max(|a| + |n|), floor),

where the floor stops 0/0 when both gradients vanish. A correct float64
gradient gives 1e-8 or less; a wrong one gives 1e-2 or more.

Finally, kinks: ReLU has no derivative at 0. A finite difference that
straddles the kink measures the average slope (0.5) while the code returns 0
or 1. Check away from kinks, and know why a check near one "fails".

Run: python lessons/00_gradient_checking.py
"""

# %%
import numpy as np

from tinyae.gradcheck import (check_layer, check_model, directional_check, numerical_gradient,
                              rel_error)
from tinyae.layers import Linear, Sequential, Sigmoid
from tinyae.course.lesson import Lesson
from tinyae.models import MLPAutoencoder
from tinyae.course.plotting import plt


# %%
# -- 1. Finite differences from scratch on a function we can differentiate by hand.

def h_fn(x):
    return x[0] ** 2 + 3 * x[0] * x[1]


# %%
def central_difference(f, x, h):
    """The whole idea in five lines: nudge one coordinate both ways."""
    grad = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        grad[i] = (f(x + e) - f(x - e)) / (2 * h)
    return grad


# %%
def by_hand_part(lesson):
    print("\n1. h(x) = x1^2 + 3 x1 x2 at (4, 10); "
          "by hand: dh/dx = (2 x1 + 3 x2, 3 x1) = (38, 12)")
    x0 = np.array([4.0, 10.0])
    analytic = np.array([2 * x0[0] + 3 * x0[1], 3 * x0[0]])
    numeric = central_difference(h_fn, x0, 1e-4)
    norm_err = np.linalg.norm(analytic - numeric) / np.linalg.norm(analytic + numeric)
    lesson.report(f"numerical gradient {numeric}, analytic {analytic}")
    lesson.report(f"||a - n|| / ||a + n|| = {norm_err:.3g}   (tinyae's max-form: "
                  f"{rel_error(analytic, numeric):.3g})")
    lesson.claim("correct gradient of h: relative difference about 2.1e-12 (h = 1e-4)",
                 norm_err, within=(2.1e-12, 0.5e-12))
    wrong = np.array([2 * x0[0] + 3 * x0[1], x0[0]])          # forgot the 3 in d/dx2
    lesson.claim("a wrong derivative (3 x1 written as x1) is caught: error > 1e-2",
                 rel_error(wrong, numeric), gt=1e-2)


# %%
# -- 2. Why float64: the error as a function of h, in both precisions.

def precision_part(lesson):
    """Returns the steps h and the relative error at each, per dtype name."""
    rng = lesson.rng
    print("\n2. The U-shaped error: truncation ~ h^2, rounding ~ eps/h")
    hs = np.logspace(-12, -1, 23)
    layer_errors = {}
    for dtype in (np.float64, np.float32):
        W = rng.standard_normal((6, 4)).astype(dtype)
        b = rng.standard_normal(4).astype(dtype)
        x = rng.standard_normal((3, 6)).astype(dtype)
        r = rng.standard_normal((3, 4)).astype(dtype)

        def f(W=W):
            return float(np.sum(r * (1 / (1 + np.exp(-(x @ W + b))))))   # sigmoid(x W + b)

        s = 1 / (1 + np.exp(-(x.astype(np.float64) @ W.astype(np.float64) + b)))
        dW = x.astype(np.float64).T @ (r * s * (1 - s))                  # exact, in float64
        errs = []
        for h in hs:
            num = np.zeros_like(dW)
            for idx in np.ndindex(*W.shape):
                old = W[idx]
                W[idx] = old + dtype(h)
                fp = f()
                W[idx] = old - dtype(h)
                fm = f()
                W[idx] = old
                # the h it really took
                step = float(dtype(old + dtype(h))) - float(dtype(old - dtype(h)))
                num[idx] = (fp - fm) / step if step else 0.0
            errs.append(rel_error(dW, num))
        layer_errors[np.dtype(dtype).name] = np.array(errs)
        best = int(np.argmin(errs))
        lesson.report(f"{np.dtype(dtype).name}: best error {errs[best]:.2e} "
                      f"at h = {hs[best]:.0e}")
    lesson.claim("float64: the best finite difference agrees to better than 1e-9",
                 layer_errors["float64"].min(), lt=1e-9)
    lesson.claim("float32: no h gets below 1e-6 (too coarse to certify a gradient)",
                 layer_errors["float32"].min(), gt=1e-6)
    lesson.claim("float32's best error is over 1000 times float64's",
                 layer_errors["float32"].min() / layer_errors["float64"].min(), gt=1e3)
    best_h = hs[int(np.argmin(layer_errors["float64"]))]
    lesson.claim("float64: the best h lies in the middle of the U (log10 h in [-8, -3])",
                 np.log10(best_h), within=(-5.5, 2.5))
    return hs, layer_errors


# %%
# -- 3. Why a floor: two gradients that are both exactly zero.

def floor_part(lesson):
    print("\n3. The floor")
    zero = np.zeros(3)
    with np.errstate(invalid="ignore"):
        no_floor = float(np.max(np.abs(zero - zero)) / np.max(np.abs(zero) + np.abs(zero)))
    lesson.report(f"without a floor: 0/0 = {no_floor}; "
                  f"with the floor: {rel_error(zero, zero)}")
    lesson.claim("with a floor, two zero gradients agree (error 0, not NaN)",
                 rel_error(zero, zero), within=(0.0, 0.0))


# %%
# -- 4. Kinks: ReLU at 0.

def kink_part(lesson):
    print("\n4. What a kink does")
    xk = np.array([0.0, 0.3, -0.3])
    relu_sum = lambda: float(np.sum(np.maximum(xk, 0)))                  # noqa: E731
    num_k = numerical_gradient(relu_sum, xk, h=1e-6)
    analytic_k = (xk > 0).astype(float)                                  # 0 at the kink
    lesson.report(f"at x = (0, 0.3, -0.3): numerical {num_k}, analytic {analytic_k}")
    lesson.claim("at the kink the finite difference measures the mean slope 0.5",
                 num_k[0], within=(0.5, 1e-9))
    lesson.claim("away from the kink the check passes (error < 1e-9)",
                 rel_error(analytic_k[1:], num_k[1:]), lt=1e-9)


# %%
# -- 5. The library's tool on a layer and on a whole model.

def library_part(lesson):
    rng = lesson.rng
    print("\n5. tinyae.gradcheck on Linear + Sigmoid and on the MLP autoencoder")
    net = Sequential(Linear(8, 5, rng=rng), Sigmoid())
    rep = check_layer(net, rng.standard_normal((4, 8)), rng=rng)
    print(rep)
    lesson.claim("Linear + Sigmoid: worst relative error < 1e-7", rep.worst, lt=1e-7)
    model = MLPAutoencoder(sizes=(12, 8, 3), activation="tanh", rng=rng)
    xm = rng.uniform(0.05, 0.95, size=(5, 12))
    rep = check_model(model, xm)
    print(rep)
    lesson.claim("MLP autoencoder: every parameter's relative error < 1e-7", rep.worst,
                 lt=1e-7)
    rep_dir = directional_check(model, xm, rng=rng, n_directions=5)
    lesson.claim("MLP autoencoder, 5 random directions: error < 1e-7", rep_dir.worst, lt=1e-7)


# %%
# -- figure

def figures(lesson, hs, layer_errors):
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, errs in layer_errors.items():
        ax.loglog(hs, np.maximum(errs, 1e-17), marker="o", ms=3, label=name)
    ax.loglog(hs, hs ** 2, ls=":", color="gray", label="~ h^2 (truncation)")
    ax.loglog(hs, 1e-16 / hs, ls="--", color="gray", label="~ eps64 / h (rounding)")
    ax.set_ylim(1e-13, 10)
    ax.set_xlabel("step h")
    ax.set_ylabel("relative error vs exact gradient")
    ax.set_title("Central differences on sigmoid(x W + b)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    lesson.save(fig, "error_vs_h")

    fig, ax = plt.subplots(figsize=(5, 3.5))
    t = np.linspace(-1, 1, 201)
    ax.plot(t, np.maximum(t, 0), label="relu(x)")
    hk = 0.4
    ax.plot([-hk, hk], [0, hk], "o--", label=f"secant over [-h, h], slope {0.5:.1f}")
    ax.set_title("A kink: the secant sees neither one-sided slope")
    ax.legend(fontsize=8)
    lesson.save(fig, "kink")


# %%
def main():
    lesson = Lesson("00_gradient_checking", __doc__)
    by_hand_part(lesson)
    hs, layer_errors = precision_part(lesson)
    floor_part(lesson)
    kink_part(lesson)
    library_part(lesson)
    figures(lesson, hs, layer_errors)
    lesson.finish()


# %%
if __name__ == "__main__":
    main()
