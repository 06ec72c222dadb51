"""The image exercises: conv2d backward and max-pool backward (on the ops of
``tinyae.functional.conv``), with their catalogues of mistakes. Same
structure as ``catalogue``."""

import numpy as np

from ... import functional as F
from . import harness
from .specs import Exercise, Mistake
from .specs import cases_in_both_dtypes as _cases


def _integration(f, names, what):
    ops = {n: f[n] for n in names}
    return [harness.compare_training("conv", ops, what=what)]


# ==========================================================================
# 11. conv2d backward
# ==========================================================================

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


def _conv_fd(f, rng):
    x, W, b = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3)), \
        rng.standard_normal(3)
    r = rng.standard_normal((2, 3, 3, 3))                        # stride 2, padding 1
    _, cache = f["conv2d_forward"](x, W, b, 2, 1)
    dx, dW, db = f["conv2d_backward"](r, cache)
    return {"conv2d": (lambda: float(np.sum(f["conv2d_forward"](x, W, b, 2, 1)[0] * r)),
                       {"x": x, "W": W, "b": b}, {"x": dx, "W": dW, "b": db})}


def _conv_backward_variant(accumulate=True, flip=False, crop=True, db_mean_positions=False):
    """conv2d_backward for the cache of ``conv2d_forward_naive``, with a mistake."""
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
        dx = dxp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]] if crop else dxp
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
        ("1x1 kernel", _conv_inputs(2, 3, 3, 2, 1, 1, 0))]),
    fd=_conv_fd,
    integration=lambda f: _integration(f, ("conv2d_forward", "conv2d_backward"),
                                       "your conv2d backward"),
    mistakes=(
        Mistake("dx_overwritten",
                "windows overlap when the stride is smaller than the kernel: an input "
                "pixel read by several windows must collect all their gradients (+=); "
                "you kept only the last one (=)",
                _conv_backward_variant(accumulate=False),
                (("dxp[win] += np.tensordot(g, W, axes=(1, 0))",
                  "dxp[win] = np.tensordot(g, W, axes=(1, 0))"),)),
        Mistake("kernel_flipped",
                "you flipped the kernel in dx: the forward is a cross-correlation (the "
                "kernel is not flipped), so each output pixel sends dout * W back onto "
                "the window it read, W as it is",
                _conv_backward_variant(flip=True),
                (("np.tensordot(g, W, axes=(1, 0))",
                  "np.tensordot(g, W[:, :, ::-1, ::-1], axes=(1, 0))"),)),
        Mistake("padding_not_cropped",
                "your dx still has the padding: the padded border is not an input; crop "
                "ph rows and pw columns from each side",
                _conv_backward_variant(crop=False),
                (("dx = dxp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]", "dx = dxp"),)),
        Mistake("db_averaged_over_positions",
                "the bias is added at every output position, so db sums dout over the "
                "batch and over every position; you averaged over the positions",
                _conv_backward_variant(db_mean_positions=True),
                (("db = dout.sum(axis=(0, 2, 3))", "db = dout.mean(axis=(2, 3)).sum(axis=0)"),)),
    ))


# ==========================================================================
# 12. max-pool backward
# ==========================================================================

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
        ("ties (ReLU zeros)", _pool_inputs(2, 2, 6, 2, 2, ties=True))]),
    fd=_pool_fd,
    integration=lambda f: _integration(f, ("max_pool2d_forward", "max_pool2d_backward"),
                                       "your max-pool backward"),
    mistakes=(
        Mistake("overlap_overwritten",
                "with stride < kernel the windows overlap and one pixel can be the max of "
                "several: it must collect every window's gradient (+=); you kept the last "
                "one (=)",
                _pool_backward_variant("overwrite"),
                (("dx[n, c, rows, cols] += g", "dx[n, c, rows, cols] = g"),)),
        Mistake("ties_all_get_gradient",
                "when several entries tie for the max (ReLU zeros do), the gradient goes to "
                "one of them, the first (as the forward's argmax); your mask gave it to "
                "every tied entry",
                _pool_backward_variant("ties"),
                (("arg = window.reshape(N, C, k * k).argmax(axis=2)\n"
                  "            rows, cols = i * s + arg // k, j * s + arg % k\n"
                  "            dx[n, c, rows, cols] += g",
                  "mask = window == window.max(axis=(2, 3), keepdims=True)\n"
                  "            dx[:, :, i * s:i * s + k, j * s:j * s + k] += mask * g[:, :, None, None]"),)),
        Mistake("averaged",
                "you spread dout evenly over the window: that is average pooling's backward; "
                "max pooling sends it all to the max",
                _pool_backward_variant("average"),
                (("arg = window.reshape(N, C, k * k).argmax(axis=2)\n"
                  "            rows, cols = i * s + arg // k, j * s + arg % k\n"
                  "            dx[n, c, rows, cols] += g",
                  "dx[:, :, i * s:i * s + k, j * s:j * s + k] += g[:, :, None, None] / (k * k)"),)),
        Mistake("mask_without_dout",
                "you marked the max with 1: the chain rule sends dout there, dx = dout at "
                "the max of each window",
                _pool_backward_variant("no_dout"),
                (("dx[n, c, rows, cols] += g", "dx[n, c, rows, cols] += 1"),)),
    ))
