"""Exercise 12: max-pool backward (on the ops of ``tinyae.functional.conv``):
the spec and its catalogue of mistakes (the source is
``sources/ex12_max_pool.py``)."""

import numpy as np

from .... import functional as F
from ..specs import Exercise, Mistake
from ..specs import cases_in_both_dtypes as _cases
from .base import train


def _pool_forward(x, kernel, stride):
    """The given forward: the library's max pool, caching (x, kernel, stride)."""
    out, _ = F.max_pool2d_forward(x, kernel, stride)
    return out, (x, kernel, stride)


def _pool_program(f, x, dout, kernel, stride):
    out, cache = f["max_pool2d_forward"](x, kernel, stride)
    return {"out": out, "dx": f["max_pool2d_backward"](dout, cache)}


def _pool_inputs(n, c, hw, k, s, ties=False):
    def make(rng):
        x = rng.standard_normal((n, c, hw, hw))
        if ties:                                  # ReLU outputs: windows of zeros tie
            x = np.round(np.maximum(x, 0), 1)
        ho = (hw - k) // s + 1
        return {"x": x, "dout": rng.standard_normal((n, c, ho, ho)), "kernel": k, "stride": s}
    return make


def _pool_inputs_2d(n, c, hw, k, s):
    """A non-square image (height, width) under a k x k window, stride s."""
    def make(rng):
        ho, wo = ((size - k) // s + 1 for size in hw)
        return {"x": rng.standard_normal((n, c, *hw)),
                "dout": rng.standard_normal((n, c, ho, wo)), "kernel": k, "stride": s}
    return make


def _pool_fd(f, rng):
    x = rng.permutation(np.arange(2 * 2 * 5 * 5, dtype=float)).reshape(2, 2, 5, 5) / 10
    r = rng.standard_normal((2, 2, 4, 4))                        # kernel 2, stride 1
    dx = f["max_pool2d_backward"](r, f["max_pool2d_forward"](x, 2, 1)[1])
    return {"max_pool2d": (lambda: float(np.sum(f["max_pool2d_forward"](x, 2, 1)[0] * r)),
                           {"x": x}, {"x": dx})}


def _pool_backward_variant(mode):
    def max_pool2d_backward(dout, cache):
        x, k, s = cache
        N, C, Ho, Wo = dout.shape
        dx = np.zeros_like(x)
        n, c = np.indices((N, C))
        for i in range(Ho):
            for j in range(Wo):
                win = (slice(None), slice(None), slice(i * s, i * s + k), slice(j * s, j * s + k))
                window = x[win]
                g = dout[:, :, i, j]
                if mode == "ties":
                    mask = window == window.max(axis=(2, 3), keepdims=True)
                    dx[win] += mask * g[:, :, None, None]
                elif mode == "average":
                    dx[win] += g[:, :, None, None] / (k * k)
                elif mode == "window_overwrite":                     # the whole window, =
                    arg = window.reshape(N, C, k * k).argmax(axis=2)
                    onehot = (np.arange(k * k) == arg[:, :, None]).reshape(N, C, k, k)
                    dx[win] = onehot * g[:, :, None, None]
                else:
                    arg = window.reshape(N, C, k * k).argmax(axis=2)
                    rows, cols = i * s + arg // k, j * s + arg % k
                    if mode == "overwrite":
                        dx[n, c, rows, cols] = g
                    else:                                            # "no_dout"
                        dx[n, c, rows, cols] += 1
        return dx
    return {"max_pool2d_forward": _pool_forward, "max_pool2d_backward": max_pool2d_backward}


MAX_POOL = Exercise(
    number=12, slug="max_pool", title="max-pool backward",
    functions=("max_pool2d_forward", "max_pool2d_backward"),
    reference={"max_pool2d_forward": F.max_pool2d_forward,
               "max_pool2d_backward": F.max_pool2d_backward},
    program=_pool_program,
    cases=lambda rng: _cases(rng, [
        ("2x2, stride 2", _pool_inputs(2, 3, 6, 2, 2)),
        ("3x3, stride 1 (overlapping), batch 1", _pool_inputs(1, 1, 5, 3, 1)),
        ("2x2, stride 1 (overlapping)", _pool_inputs(2, 2, 4, 2, 1)),
        ("ties (ReLU zeros)", _pool_inputs(2, 2, 6, 2, 2, ties=True)),
        ("5x8 image, 2x2, stride 1 (overlapping)", _pool_inputs_2d(2, 2, (5, 8), 2, 1)),
        ("8x5 image, 3x3, stride 2, batch 1", _pool_inputs_2d(1, 3, (8, 5), 3, 2)),
        ("width 1 image, 1x1 window", _pool_inputs_2d(2, 1, (4, 1), 1, 1))]),
    fd=_pool_fd,
    integration=lambda f: [train(f, ("max_pool2d_forward", "max_pool2d_backward"),
                                 "your max-pool backward", kind="conv")],
    mistakes=(
        Mistake("overlap_overwritten",
                "with stride < kernel the windows overlap and one pixel can be the max of "
                "several: it must collect every window's gradient (+=); you kept the last "
                "one (=)",
                (_pool_backward_variant("overwrite"), _pool_backward_variant("window_overwrite")),
                (("dx[n, c, rows, cols] += g", "dx[n, c, rows, cols] = g"),),
                forms=((("dx[n, c, rows, cols] += g",
                         "onehot = (np.arange(k * k) == arg[:, :, None]).reshape(N, C, k, k)\n"
                         "            dx[:, :, i * s:i * s + k, j * s:j * s + k] = "
                         "onehot * g[:, :, None, None]"),),)),
        Mistake("ties_all_get_gradient",
                "when several entries tie for the max (ReLU zeros do), the gradient goes to "
                "one of them, the first (as the forward's argmax); your mask gave it to "
                "every tied entry",
                _pool_backward_variant("ties"),
                (("arg = window.reshape(N, C, k * k).argmax(axis=2)\n"
                  "            rows, cols = i * s + arg // k, j * s + arg % k\n"
                  "            dx[n, c, rows, cols] += g",
                  "mask = window == window.max(axis=(2, 3), keepdims=True)\n"
                  "            dx[:, :, i * s:i * s + k, j * s:j * s + k] += mask * g[:, :, None, None]"),),
                forms=((("dx[n, c, rows, cols] += g",
                         "top = window.reshape(N, C, k * k).max(axis=2)\n"
                         "            dx[:, :, i * s:i * s + k, j * s:j * s + k] += np.where(\n"
                         "                window >= top[:, :, None, None], g[:, :, None, None], 0)"),),)),
        Mistake("averaged",
                "you spread dout evenly over the window: that is average pooling's backward; "
                "max pooling sends it all to the max",
                _pool_backward_variant("average"),
                (("arg = window.reshape(N, C, k * k).argmax(axis=2)\n"
                  "            rows, cols = i * s + arg // k, j * s + arg % k\n"
                  "            dx[n, c, rows, cols] += g",
                  "dx[:, :, i * s:i * s + k, j * s:j * s + k] += g[:, :, None, None] / (k * k)"),),
                forms=((("dx[n, c, rows, cols] += g",
                         "dx[:, :, i * s:i * s + k, j * s:j * s + k] += "
                         "np.ones_like(window) * g[:, :, None, None] / window[0, 0].size"),),)),
        Mistake("mask_without_dout",
                "you marked the max with 1: the chain rule sends dout there, dx = dout at "
                "the max of each window",
                _pool_backward_variant("no_dout"),
                (("dx[n, c, rows, cols] += g", "dx[n, c, rows, cols] += 1"),),
                forms=((("dx[n, c, rows, cols] += g",
                         "dx[:, :, i * s:i * s + k, j * s:j * s + k] += "
                         "(np.arange(k * k) == arg[:, :, None]).reshape(N, C, k, k)"),),)),
    ))


#: The hints, level 1 (where to start) to 3 (the formula): Markdown with
#: $...$ maths, shown by ``tinyae exercises hint`` and the course book.
HINTS = (
    r"""Within a window, $\text{out}[n, c, i, j] = x[n, c, i s + p^*, j s + q^*]$, with
$(p^*, q^*)$ the position of the maximum. Move the maximal entry a little and out moves
by as much; move any other entry a little and out does not move. So the gradient of each
output pixel goes to one entry of $x$.""",
    r"""Find $(p^*, q^*)$ for every $(n, c)$ at once: flatten the window to $(N, C, k^2)$ and
take `argmax` over the last axis (it returns the first maximum, like the forward); flat
index $a$ is row $a // k$, column $a \% k$ of the window. Then index `dx` with the grids
`n, c` of the code and the rows and columns in $x$. When $s < k$ a pixel can be the
maximum of several windows: **add** (`+=`) the gradient of each. (Within one
`dx[n, c, rows, cols] += g` the pairs $(n, c)$ all differ, so no index repeats.)""",
    r"""$$dx[n, c, i s + p^*, j s + q^*] \mathrel{+}= \text{dout}[n, c, i, j]$$

for every output pixel, with $(p^*, q^*)$ the first maximum of its window in row-major
order, and 0 for every other entry. In the loop:
`arg = window.reshape(N, C, k * k).argmax(axis=2)`,
`rows, cols = i * s + arg // k, j * s + arg % k`, `dx[n, c, rows, cols] += g`.""",
)
