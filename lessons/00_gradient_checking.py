"""Lesson 00: gradient checking — how to trust a backward pass you wrote by hand."""

# %% [markdown]
# # Lesson 00: gradient checking — how to trust a backward pass you wrote by hand
#
# Every gradient in tinyae is derived on paper and coded by hand; there is no
# autograd to fall back on. Before a single model is trained, each one is
# compared with a number that needs no derivation at all: a finite
# difference of the function itself.
#
# **You will learn** why the central difference is accurate to $O(h^2)$; why
# rounding makes its total error U-shaped in the step $h$, and why that
# forces gradient checks into float64; how to measure agreement with a
# relative error that has a floor; what a kink such as ReLU's does to a
# check; and how `tinyae.gradcheck` checks a layer, a whole model, and a
# model too big to check entry by entry.
#
# **It assumes** no earlier lesson: derivatives, Taylor series and NumPy
# arrays. Exercise 4 (the checker itself) goes with this lesson.

# %%
import numpy as np

from tinyae.course.lesson import Lesson
from tinyae.course.plotting.gradcheck import error_vs_h, kink_secant
from tinyae.gradcheck import (check_layer, check_model, directional_check, numerical_gradient,
                              rel_error)
from tinyae.layers import Linear, Sequential, Sigmoid
from tinyae.models import MLPAutoencoder

lesson = Lesson("00_gradient_checking", __doc__)

# %% [markdown]
# ## 1. The central difference
#
# Nudge one coordinate of $x$ by $\pm h$ ($e_i$ is the $i$-th unit vector)
# and expand $f$ in a Taylor series along it:
#
# $$f(x \pm h e_i) = f(x) \pm h\, \partial_i f + \tfrac{h^2}{2}\, \partial_i^2 f
#   \pm \tfrac{h^3}{6}\, \partial_i^3 f + O(h^4).$$
#
# Subtracting the two, the even terms cancel:
#
# $$\frac{f(x + h e_i) - f(x - h e_i)}{2h} = \partial_i f + \tfrac{h^2}{6}\, \partial_i^3 f + O(h^4).$$
#
# The truncation error is quadratic in $h$. The one-sided difference
# $(f(x + h e_i) - f(x))/h = \partial_i f + \tfrac{h}{2}\partial_i^2 f + \dots$
# keeps the even term and is only $O(h)$, which is why checkers use the
# central one. Here is the whole idea in five lines, tried on a function we
# can differentiate by hand, $h(x) = x_1^2 + 3 x_1 x_2$, with
# $\nabla h = (2 x_1 + 3 x_2,\; 3 x_1) = (38, 12)$ at $(4, 10)$.

# %%
def h_fn(x):
    return x[0] ** 2 + 3 * x[0] * x[1]


def central_difference(f, x, h):
    """The whole idea in five lines: nudge one coordinate both ways."""
    grad = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        grad[i] = (f(x + e) - f(x - e)) / (2 * h)
    return grad


# %%
x0 = np.array([4.0, 10.0])
analytic = np.array([2 * x0[0] + 3 * x0[1], 3 * x0[0]])     # by hand: (38, 12)
numeric = central_difference(h_fn, x0, 1e-4)
norm_err = np.linalg.norm(analytic - numeric) / np.linalg.norm(analytic + numeric)
wrong = np.array([2 * x0[0] + 3 * x0[1], x0[0]])            # forgot the 3 in d/dx2
lesson.report(f"numerical gradient {numeric}, analytic {analytic}")
lesson.report(f"||a - n|| / ||a + n|| = {norm_err:.3g}   (tinyae's max-form: "
              f"{rel_error(analytic, numeric):.3g})")

# %% [markdown]
# How close is close enough? An absolute difference means nothing without a
# scale ($10^{-6}$ is tiny for a gradient of $10^3$ and huge for one of
# $10^{-9}$), so we compare analytic $a$ and numerical $n$ relatively. The
# cell above prints $\lVert a - n \rVert / \lVert a + n \rVert$ and tinyae's
# form (section 3),
#
# $$\mathrm{err}(a, n) = \frac{\max_i |a_i - n_i|}{\max\big(\max_i (|a_i| + |n_i|),\ \text{floor}\big)}.$$
#
# A correct float64 gradient gives $10^{-8}$ or less. The wrong derivative,
# with the 3 of $\partial h / \partial x_2 = 3 x_1$ forgotten, gives
# **0.105**: a mistake stands out by many orders of magnitude.

# %%
lesson.claim("correct gradient of h: relative difference about 2.1e-12 (h = 1e-4)",
             norm_err, within=(2.1e-12, 0.5e-12))
lesson.claim("a wrong derivative (3 x1 written as x1) is caught: error > 1e-2",
             rel_error(wrong, numeric), gt=1e-2)

# %% [markdown]
# ## 2. Rounding, the U-shaped error, and why float64
#
# The computer does not return $f(x \pm h e_i)$ but a value rounded to about
# $\varepsilon |f|$, with $\varepsilon = 1.1 \times 10^{-16}$ in float64 and
# $6 \times 10^{-8}$ in float32. The two rounding errors do not cancel, and
# dividing by $2h$ enlarges them, so the total error of the central
# difference is about
#
# $$E(h) \approx \frac{h^2}{6} |\partial_i^3 f| + \frac{\varepsilon |f|}{h}.$$
#
# Shrinking $h$ trades one term for the other. Setting
# $E'(h) = \tfrac{h}{3}|\partial_i^3 f| - \varepsilon |f| / h^2$ to zero gives
#
# $$h^\ast = \Big(\frac{3 \varepsilon |f|}{|\partial_i^3 f|}\Big)^{1/3} \propto \varepsilon^{1/3},
#   \qquad E(h^\ast) \propto \varepsilon^{2/3}.$$
#
# With $|f|$ and $|\partial_i^3 f|$ of order 1, that is $h^\ast \approx 10^{-5}$
# and $E \approx 10^{-11}$ in float64, but $h^\ast \approx 10^{-2}$ and
# $E \approx 10^{-5}$ in float32: too coarse to tell a correct gradient from a
# slightly wrong one. We measure it on a sigmoid layer,
# $f(W) = \sum_{nj} r_{nj}\, \sigma(xW + b)_{nj}$, whose exact gradient,
# by the chain rule and $\sigma' = \sigma(1 - \sigma)$, is
#
# $$\frac{\partial f}{\partial W} = x^\top \big(r \odot \sigma \odot (1 - \sigma)\big).$$

# %%
def sigmoid_layer(dtype, rng):
    """f() = sum(r * sigmoid(x W + b)) in ``dtype``, the array W it reads
    (6, 4), and the exact dW computed in float64 (x: (3, 6), b: (4,), r: (3, 4))."""
    W = rng.standard_normal((6, 4)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    x = rng.standard_normal((3, 6)).astype(dtype)
    r = rng.standard_normal((3, 4)).astype(dtype)

    def f():
        return float(np.sum(r * (1 / (1 + np.exp(-(x @ W + b))))))

    s = 1 / (1 + np.exp(-(x.astype(np.float64) @ W.astype(np.float64) + b)))
    dW = x.astype(np.float64).T @ (r * s * (1 - s))               # exact, in float64
    return f, W, dW


def central_difference_as_taken(f, W, h):
    """Central differences of f() in W's own dtype, divided by the step
    W[idx] +- h really took after rounding (0 if it rounded away)."""
    dtype = W.dtype.type
    num = np.zeros(W.shape)
    for idx in np.ndindex(*W.shape):
        old = W[idx]
        W[idx] = old + dtype(h)
        fp = f()
        W[idx] = old - dtype(h)
        fm = f()
        W[idx] = old
        step = float(dtype(old + dtype(h))) - float(dtype(old - dtype(h)))
        num[idx] = (fp - fm) / step if step else 0.0
    return num


# %%
hs = np.logspace(-12, -1, 23)
layer_errors = {}
for dtype in (np.float64, np.float32):
    f, W, dW = sigmoid_layer(dtype, lesson.rng)
    errs = np.array([rel_error(dW, central_difference_as_taken(f, W, h)) for h in hs])
    layer_errors[np.dtype(dtype).name] = errs
    lesson.report(f"{np.dtype(dtype).name}: best error {errs.min():.2e} "
                  f"at h = {hs[errs.argmin()]:.0e}")
best_h = hs[int(np.argmin(layer_errors["float64"]))]
lesson.report(f"float64's best log10 h = {np.log10(best_h):.1f}; float32's best error is "
              f"{layer_errors['float32'].min() / layer_errors['float64'].min():.0f} "
              "times float64's")

# %%
lesson.save(error_vs_h(hs, layer_errors,
                       title="Central differences on sigmoid(x W + b)"), "error_vs_h")

# %% [markdown]
# Read the float64 curve from the right: it falls along the dotted $h^2$
# line, bottoms out at $\log_{10} h =$ **-4.5**, then climbs along the dashed
# $\varepsilon/h$ line as rounding takes over, the U of the formula above.
# The float32 curve bottoms out near $10^{-5}$ at $h = 10^{-2}$ and, below
# $h \approx 10^{-7}$, sits at exactly 1: the step is smaller than float32's
# spacing near $W_{ij}$, so $W_{ij} \pm h$ rounds back to $W_{ij}$ and the
# difference is 0. Float32's best is **167062** times float64's. Gradient
# checks in tinyae are done in float64, always.

# %%
lesson.claim("float64: the best finite difference agrees to better than 1e-9",
             layer_errors["float64"].min(), lt=1e-9)
lesson.claim("float32: no h gets below 1e-6 (too coarse to certify a gradient)",
             layer_errors["float32"].min(), gt=1e-6)
lesson.claim("float32's best error is over 1000 times float64's",
             layer_errors["float32"].min() / layer_errors["float64"].min(), gt=1e3)
lesson.claim("float64: the best h lies in the middle of the U (log10 h in [-8, -3])",
             np.log10(best_h), within=(-5.5, 2.5))

# %% [markdown]
# ## 3. Why the relative error needs a floor
#
# Where a gradient is exactly zero (a ReLU that is off, a parameter the loss
# does not use), both $a$ and $n$ are 0 and the relative error is
# $0/0$. The floor in the denominator,
# $\max\big(\max_i(|a_i| + |n_i|),\ \text{floor}\big)$ with floor $10^{-10}$
# by default, turns that into $0/10^{-10} = 0$: agreement, as it should be. It
# also keeps a pair of gradients that are both tiny, say $10^{-14}$ and
# $2 \times 10^{-14}$, from counting as a 33% disagreement.

# %%
zero = np.zeros(3)
with np.errstate(invalid="ignore"):
    no_floor = float(np.max(np.abs(zero - zero)) / np.max(np.abs(zero) + np.abs(zero)))
lesson.report(f"without a floor: 0/0 = {no_floor}; with the floor: {rel_error(zero, zero)}")
lesson.claim("with a floor, two zero gradients agree (error 0, not NaN)",
             rel_error(zero, zero), within=(0.0, 0.0))

# %% [markdown]
# ## 4. Kinks
#
# $\mathrm{relu}(x) = \max(x, 0)$ has no derivative at 0: its slope is 0 on
# the left and 1 on the right, and a backward pass returns one of them (tinyae
# returns 0). A central difference that straddles the kink measures the
# secant instead,
#
# $$\frac{\mathrm{relu}(h) - \mathrm{relu}(-h)}{2h} = \frac{h - 0}{2h} = \tfrac12 ,$$
#
# whatever $h$ is. So a check near a kink can "fail" with a correct backward
# pass. Check away from kinks (random inputs almost never sit within $h$ of
# one), and when a check fails, look first at whether an input is near one.

# %%
xk = np.array([0.0, 0.3, -0.3])
relu_sum = lambda: float(np.sum(np.maximum(xk, 0)))                  # noqa: E731
num_k = numerical_gradient(relu_sum, xk, h=1e-6)
analytic_k = (xk > 0).astype(float)                                  # 0 at the kink
lesson.report(f"at x = (0, 0.3, -0.3): numerical {num_k}, analytic {analytic_k}")

# %%
lesson.save(kink_secant(0.4, title="A kink: the secant sees neither one-sided slope"),
            "kink")

# %% [markdown]
# The dashed secant through $(\pm h, \mathrm{relu}(\pm h))$ (drawn with a large
# $h$ so it can be seen) has slope **0.5**, between the two one-sided slopes
# 0 and 1; at $x = \pm 0.3$, far from the kink, the check passes.

# %%
lesson.claim("at the kink the finite difference measures the mean slope 0.5",
             num_k[0], within=(0.5, 1e-9))
lesson.claim("away from the kink the check passes (error < 1e-9)",
             rel_error(analytic_k[1:], num_k[1:]), lt=1e-9)

# %% [markdown]
# ## 5. The library's checker on a layer and a whole model
#
# `tinyae.gradcheck` does the same thing for every parameter of a layer or
# model: `check_layer` sends a random upstream gradient $r$ through the
# layer and checks the scalar $\sum r \odot \text{out}$ with respect to the
# input and every parameter; `check_model` checks the model's loss with
# respect to every parameter. Both need float64 and report the worst
# relative error per array.
#
# A model with millions of parameters would need two loss evaluations per
# parameter. `directional_check` instead checks the derivative along a few
# random unit directions $d$: with $g(t) = L(\theta + t d)$, the analytic
# value is $g'(0) = \nabla L \cdot d$. One scalar carries the rounding of the
# whole loss, so it uses a more accurate stencil. From the Taylor series,
#
# $$\frac{g(h) - g(-h)}{2h} = g' + \tfrac{h^2}{6} g''' + \tfrac{h^4}{120} g^{(5)} + \dots, \qquad
#   \frac{g(2h) - g(-2h)}{4h} = g' + \tfrac{4h^2}{6} g''' + \tfrac{16 h^4}{120} g^{(5)} + \dots$$
#
# Four times the first minus the second, divided by 3, cancels the $h^2$ term:
#
# $$\frac{8\big(g(h) - g(-h)\big) - \big(g(2h) - g(-2h)\big)}{12 h} = g'(0) - \tfrac{h^4}{30} g^{(5)} + \dots,$$
#
# an $O(h^4)$ error, so $h = 10^{-3}$ keeps both truncation and rounding near
# $10^{-12}$.

# %%
net = Sequential(Linear(8, 5, rng=lesson.rng), Sigmoid())
rep_layer = check_layer(net, lesson.rng.standard_normal((4, 8)), rng=lesson.rng)
print(rep_layer)
model = MLPAutoencoder(sizes=(12, 8, 3), activation="tanh", rng=lesson.rng)
xm = lesson.rng.uniform(0.05, 0.95, size=(5, 12))
rep_model = check_model(model, xm)
print(rep_model)
rep_dir = directional_check(model, xm, rng=lesson.rng, n_directions=5)

# %% [markdown]
# Every array of the layer and of the 12-8-3 autoencoder agrees with central
# differences to better than $10^{-7}$, the threshold tinyae's own tests use;
# the five random directions agree even more closely, as the $O(h^4)$
# stencil promises.

# %%
lesson.claim("Linear + Sigmoid: worst relative error < 1e-7", rep_layer.worst, lt=1e-7)
lesson.claim("MLP autoencoder: every parameter's relative error < 1e-7", rep_model.worst,
             lt=1e-7)
lesson.claim("MLP autoencoder, 5 random directions: error < 1e-7", rep_dir.worst, lt=1e-7)

# %% [markdown]
# ## Check your understanding
#
# 1. $h(x) = x_1^2 + 3 x_1 x_2$ is a quadratic. What is the truncation error
#    of the central difference for it? Predict what happens to the relative
#    difference of section 1 when you raise the step from `1e-4` to `1e-2`,
#    then try it.
# 2. Use $E(h)$ of section 2 to predict the best step and the best error in
#    float32 ($\varepsilon = 6 \times 10^{-8}$, $|f|$ and $|\partial^3 f|$ of
#    order 1). How do they compare with the float32 line the lesson prints?
# 3. In section 4, move the first point from the kink to `1e-7` (still
#    within $h = 10^{-6}$ of it). What does the finite difference return now,
#    and why is it neither 0.5 nor 1?
# 4. Why does `directional_check` use $h = 10^{-3}$ where the element-wise
#    checks use $10^{-6}$? What would the error terms be with $h = 10^{-6}$?
#
# ## Exercises
#
# Exercise 4, `ex04_gradcheck.py` (`tinyae exercises start DIR`, then
# `tinyae exercises check 4`): write the checker itself,
# `numerical_gradient(f, x, h)` by central differences that perturb `x` in
# place and put each entry back, and `rel_error(a, n, floor)` with the floor
# of section 3. Every later exercise is checked with functions like these.
#
# ## References
#
# - Press, W. H., Teukolsky, S. A., Vetterling, W. T. and Flannery, B. P.
#   (2007). *Numerical Recipes: The Art of Scientific Computing*, 3rd ed.
#   Cambridge University Press. Section 5.7, "Numerical Derivatives": the
#   truncation and round-off errors of finite differences and the optimal
#   step $h \propto \varepsilon^{1/3}$ for the central difference (section 2
#   here).
# - Karpathy, A. (2016). *CS231n: Convolutional Neural Networks for Visual
#   Recognition*, course notes "Neural Networks Part 3: Learning and
#   Evaluation", Stanford University, section "Gradient Checks": the centred
#   formula, the relative error, double precision and kinks
#   (https://cs231n.github.io/neural-networks-3/#gradcheck).
# - Fornberg, B. (1988). Generation of finite difference formulas on
#   arbitrarily spaced grids. *Mathematics of Computation* 51(184), 699-706.
#   The recursion for the weights of any finite-difference formula, with
#   tables for equispaced grids; the fourth-order central weights
#   $(\tfrac1{12}, -\tfrac23, 0, \tfrac23, -\tfrac1{12})$ for the first
#   derivative are the stencil of `directional_check` (section 5 here).

# %%
lesson.finish()
