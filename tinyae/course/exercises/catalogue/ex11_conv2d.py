"""Exercise 11: conv2d backward (on the ops of ``tinyae.functional.conv``): the
spec and its catalogue of mistakes (the source is
``sources/ex11_conv2d.py``)."""

import numpy as np

from .... import functional as F
from ..specs import Exercise, Mistake
from ..specs import cases_in_both_dtypes as _cases
from .base import train


def _conv_program(f, x, W, b, dout, stride, padding):
    out, cache = f["conv2d_forward"](x, W, b, stride, padding)
    dx, dW, db = f["conv2d_backward"](dout, cache)
    return {"out": out, "dx": dx, "dW": dW, "db": db}


def _conv_inputs(n, c, hw, f, k, stride, padding):
    def make(rng):
        ho = (hw + 2 * padding - k) // stride + 1
        return {"x": rng.standard_normal((n, c, hw, hw)),
                "W": rng.standard_normal((f, c, k, k)) / np.sqrt(c * k * k),
                "b": rng.standard_normal(f), "dout": rng.standard_normal((n, f, ho, ho)),
                "stride": stride, "padding": padding}
    return make


def _conv_inputs_2d(n, c, hw, f, k, stride, padding):
    """Like ``_conv_inputs`` with (height, width) pairs for the input, the
    kernel, the stride and the padding: non-square everything."""
    def make(rng):
        ho, wo = ((size + 2 * p - kk) // st + 1
                  for size, p, kk, st in zip(hw, padding, k, stride))
        return {"x": rng.standard_normal((n, c, *hw)),
                "W": rng.standard_normal((f, c, *k)) / np.sqrt(c * k[0] * k[1]),
                "b": rng.standard_normal(f), "dout": rng.standard_normal((n, f, ho, wo)),
                "stride": tuple(stride), "padding": tuple(padding)}
    return make


def _conv_fd(f, rng):
    x, W, b = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3)), \
        rng.standard_normal(3)
    r = rng.standard_normal((2, 3, 3, 3))                        # stride 2, padding 1
    _, cache = f["conv2d_forward"](x, W, b, 2, 1)
    dx, dW, db = f["conv2d_backward"](r, cache)
    return {"conv2d": (lambda: float(np.sum(f["conv2d_forward"](x, W, b, 2, 1)[0] * r)),
                       {"x": x, "W": W, "b": b}, {"x": dx, "W": dW, "b": db})}


def _conv_backward_variant(accumulate=True, flip=False, crop="both", db_mean_positions=False):
    """conv2d_backward for the cache of ``conv2d_forward_naive``, with a
    mistake; ``crop`` "both" (right), "none" or "start" (the padding
    cropped from the top and left only)."""
    def conv2d_backward(dout, cache):
        x, W, ((kh, kw), (sh, sw), (ph, pw), (ho, wo)) = cache
        xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        dxp, dW = np.zeros_like(xp), np.zeros_like(W)
        Wk = W[:, :, ::-1, ::-1] if flip else W
        for i in range(ho):
            for j in range(wo):
                win = (slice(None), slice(None), slice(i * sh, i * sh + kh),
                       slice(j * sw, j * sw + kw))
                g = dout[:, :, i, j]
                if accumulate:
                    dxp[win] += np.tensordot(g, Wk, axes=(1, 0))
                else:
                    dxp[win] = np.tensordot(g, Wk, axes=(1, 0))
                dW += np.tensordot(g, xp[win], axes=(0, 0))
        dx = {"both": dxp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]],
              "start": dxp[:, :, ph:, pw:], "none": dxp}[crop]
        db = dout.mean(axis=(2, 3)).sum(axis=0) if db_mean_positions else dout.sum(axis=(0, 2, 3))
        return dx, dW, db
    return {"conv2d_forward": F.conv2d_forward_naive, "conv2d_backward": conv2d_backward}


CONV2D = Exercise(
    number=11, slug="conv2d", title="conv2d backward",
    functions=("conv2d_forward", "conv2d_backward"),
    reference={"conv2d_forward": F.conv2d_forward, "conv2d_backward": F.conv2d_backward},
    program=_conv_program,
    cases=lambda rng: _cases(rng, [
        ("3x3, stride 1, padding 1", _conv_inputs(2, 3, 5, 4, 3, 1, 1)),
        ("batch 1, 1 channel, stride 2", _conv_inputs(1, 1, 7, 2, 3, 2, 1)),
        ("2x2, stride 2, no padding", _conv_inputs(3, 2, 4, 1, 2, 2, 0)),
        ("1x1 kernel", _conv_inputs(2, 3, 3, 2, 1, 1, 0)),
        ("5x6 image, 2x3 kernel, stride (1, 2), padding (1, 0)",
         _conv_inputs_2d(2, 2, (5, 6), 3, (2, 3), (1, 2), (1, 0))),
        ("7x4 image, 3x2 kernel, stride (2, 1), padding (0, 1)",
         _conv_inputs_2d(1, 1, (7, 4), 2, (3, 2), (2, 1), (0, 1))),
        ("width 1 image, 3x1 kernel, stride (2, 1)",
         _conv_inputs_2d(3, 2, (6, 1), 2, (3, 1), (2, 1), (1, 0)))]),
    fd=_conv_fd,
    integration=lambda f: [train(f, ("conv2d_forward", "conv2d_backward"),
                                 "your conv2d backward", kind="conv")],
    mistakes=(
        Mistake("dx_overwritten",
                "windows overlap when the stride is smaller than the kernel: an input "
                "pixel read by several windows must collect all their gradients (+=); "
                "you kept only the last one (=)",
                _conv_backward_variant(accumulate=False),
                (("dxp[win] += np.tensordot(g, W, axes=(1, 0))",
                  "dxp[win] = np.tensordot(g, W, axes=(1, 0))"),),
                forms=((("dxp[win] += np.tensordot(g, W, axes=(1, 0))",
                         'dxp[win] = np.einsum("nf,fcpq->ncpq", g, W)'),),)),
        Mistake("kernel_flipped",
                "you flipped the kernel in dx: the forward is a cross-correlation (the "
                "kernel is not flipped), so each output pixel sends dout * W back onto "
                "the window it read, W as it is",
                _conv_backward_variant(flip=True),
                (("np.tensordot(g, W, axes=(1, 0))",
                  "np.tensordot(g, W[:, :, ::-1, ::-1], axes=(1, 0))"),),
                forms=((("np.tensordot(g, W, axes=(1, 0))",
                         "np.tensordot(g, np.rot90(W, 2, axes=(2, 3)), axes=(1, 0))"),),)),
        Mistake("padding_not_cropped",
                "your dx still has (some of) the padding: the padded border is not an "
                "input; crop ph rows and pw columns from each side",
                (_conv_backward_variant(crop="none"), _conv_backward_variant(crop="start")),
                (("dx = dxp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]", "dx = dxp"),),
                forms=((("dx = dxp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]",
                         "dx = dxp[:, :, ph:, pw:]"),),)),
        Mistake("db_averaged_over_positions",
                "the bias is added at every output position, so db sums dout over the "
                "batch and over every position; you averaged over the positions",
                _conv_backward_variant(db_mean_positions=True),
                (("db = dout.sum(axis=(0, 2, 3))", "db = dout.mean(axis=(2, 3)).sum(axis=0)"),),
                forms=((("db = dout.sum(axis=(0, 2, 3))",
                         "db = dout.sum(axis=(0, 2, 3)) / (ho * wo)"),),)),
    ))


#: The hints, level 1 (where to start) to 3 (the formula): Markdown with
#: $...$ maths, shown by ``tinyae exercises hint`` and the course book.
HINTS = (
    r"""Fix one output pixel $(i, j)$. Its window is `xp[:, :, i*sh:i*sh+kh, j*sw:j*sw+kw]`,
shape $(N, C, k_h, k_w)$. In $\text{out}[n, f, i, j]$ the weight $W[f, c, p, q]$
multiplies $x_\text{pad}[n, c, i s_h + p, j s_w + q]$, and that entry of $x_\text{pad}$
is multiplied by $W[f, c, p, q]$ for every kernel $f$. So loop over $(i, j)$ and let
each output pixel add its share to dW and to its window of $dx_\text{pad}$.""",
    r"""The share of pixel $(i, j)$, with $g = \text{dout}[:, :, i, j]$ of shape $(N, F)$: to
$dW$, $\sum_n g[n, f]\, \text{window}[n, c, p, q]$, a contraction over $n$ giving
$(F, C, k_h, k_w)$; to the window of $dx_\text{pad}$, $\sum_f g[n, f]\, W[f, c, p, q]$,
a contraction over $f$ giving $(N, C, k_h, k_w)$. `np.tensordot(a, b, axes=(r, s))`
contracts axis r of a with axis s of b. Windows overlap when the stride is smaller than
the kernel: **add** into the window (`+=`), never assign. $b_f$ touches every output of
channel $f$.""",
    r"""$$dW[f, c, p, q] = \sum_{n, i, j} \text{dout}[n, f, i, j]\; x_\text{pad}[n, c, i s_h + p, j s_w + q],
\qquad db_f = \sum_{n, i, j} \text{dout}[n, f, i, j],$$

and every window adds $\sum_f \text{dout}[n, f, i, j]\, W[f, c, p, q]$ to
$dx_\text{pad}[n, c, i s_h + p, j s_w + q]$. In the loop:
`dxp[win] += np.tensordot(g, W, axes=(1, 0))` and
`dW += np.tensordot(g, xp[win], axes=(0, 0))`; after it,
`dx = dxp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]` and
`db = dout.sum(axis=(0, 2, 3))`.""",
)
