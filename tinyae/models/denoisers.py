"""The denoising networks of ``ImageDiffusionModel`` (lesson 19): networks
of two inputs, a noisy image and the features of its noise level
(``diffusion.level_embedding``), through which the level reaches every
layer, not only the first.

``LevelMLP``: x (N, n_in), c (N, n_cond) -> (N, n_out),

    h_0 = x,   h_l = act([h_{l-1}, c] W_l + b_l)  (l = 1..L),   out = [h_L, c] W_o + b_o,

so each layer's pre-activation gets a level-dependent shift c V_l (the
rows of W_l that meet c) on top of what the layer below says.

``LevelUNet``: x (N, C, H, W), c (N, n_cond) -> (N, C, H, W), a small U-Net
(Ronneberger et al., 2015) with the level entering as one bias per channel
in every block, the way Ho et al. (2020) add a projection of the level's
embedding in each residual block:

    h1 = act(conv3x3(x) + L1 c)                 (C1, H, W)
    h2 = act(conv3x3 stride 2(h1) + L2 c)       (C2, H/2, W/2)   (sizes rounded up)
    a3 = act(conv3x3 stride 2(h2) + L3 c)       (C2, H/4, W/4)
    h3 = a3 + G2 act(G1 [a3, c])                (C2, H/4, W/4)   the global path
    u2 = act(convT3x3 stride 2(h3) + L4 c) + h2 (C2, H/2, W/2)   skip from h2
    u1 = act(convT3x3 stride 2(u2) + L5 c) + h1 (C1, H, W)       skip from h1
    out = conv3x3(u1)                           (C, H, W)

(L_k c: a Linear map of the level features to one number per channel,
broadcast over the pixels. G1, G2: Linear maps through ``dense`` units from
all of a3, flattened, and the level, back to the shape of a3: a 3x3
convolution sees only its neighbours, and denoising a digit at a high
noise level needs the whole image; Ho et al. use self-attention at 16x16
for this.) Each transposed convolution is given the
output padding that brings it back to exactly the size of the skip it meets,
so odd and non-square images work.

Backward passes
---------------
Nothing here is a new op: every piece is a Linear, a convolution or an
activation whose gradient its own op gives. The wiring adds three rules of
the chain rule. A concatenation [h, c] sends the first columns of its
gradient to h and the rest to c. A per-channel bias b_{n,k} broadcast over
the pixels gets dL/db_{n,k} = sum_{i,j} dL/dpre_{n,k,i,j}. A value used
twice (c in every layer; h1 and h2 as input of the next block and as a
skip; a3 in the global path and in h3) collects the sum of the gradients of
its uses. dL/dc is formed only when the caller asks for the inputs'
gradients (the diffusion loss does not: its inputs are data);
``tinyae.gradcheck`` checks both the parameters and the inputs on odd
shapes.
"""

import numpy as np

from .._validation import check_choice, check_dtype, check_positive_int, check_rng
from ..layers import INITS, Conv2d, ConvTranspose2d, Layer, Linear
from ..layers import activation as make_activation


def check_image_shape(image_shape):
    """(C, H, W) of positive ints, else a named error."""
    shape = tuple(image_shape) if isinstance(image_shape, (tuple, list)) else ()
    if len(shape) != 3:
        raise ValueError(f"image_shape must be (channels, height, width), got "
                         f"{image_shape!r}")
    return tuple(check_positive_int(s, f"image_shape[{i}]") for i, s in enumerate(shape))


class _TwoInput(Layer):
    """A container of named sub-layers whose params appear as ``name.key``,
    with a forward of two inputs (x, c)."""

    def _adopt(self, name, layer):
        for k in layer.params:
            self.params[f"{name}.{k}"] = layer.params[k]
            self._grads[f"{name}.{k}"] = layer.grads[k]
        self._children.append(layer)
        return layer

    def _check_inputs(self, x, c, x_ndim, x_shape):
        self._check_input(x, ndim=x_ndim, dtype=self.dtype)
        if x.shape[1:] != x_shape:
            raise ValueError(f"{type(self).__name__}.forward: x must have shape "
                             f"(N, {', '.join(map(str, x_shape))}), got {x.shape}")
        self._check_input(c, ndim=2, last=self.n_cond, dtype=self.dtype)
        if c.shape[0] != x.shape[0]:
            raise ValueError(f"{type(self).__name__}.forward: c must have one row per "
                             f"row of x ({x.shape[0]}), got shape {c.shape}")


class LevelMLP(_TwoInput):
    """An MLP whose every layer sees the condition c beside its input (module
    docstring). hidden: a tuple of widths (at least one); the output layer
    is linear."""

    def __init__(self, n_in, hidden, n_out, n_cond, *, rng, activation="relu", init="he",
                 dtype=np.float64):
        super().__init__()
        self.n_in = check_positive_int(n_in, "n_in")
        self.n_out = check_positive_int(n_out, "n_out")
        self.n_cond = check_positive_int(n_cond, "n_cond")
        self.hidden = tuple(check_positive_int(h, "hidden") for h in hidden)
        if not self.hidden:
            raise ValueError("hidden must hold at least one width, got ()")
        check_rng(rng)
        check_choice(init, "init", INITS)
        self.dtype = check_dtype(dtype)
        widths = (self.n_in,) + self.hidden
        self.layers = [self._adopt(str(i), Linear(w + self.n_cond, h, rng=rng, init=init,
                                                  dtype=self.dtype))
                       for i, (w, h) in enumerate(zip(widths[:-1], self.hidden))]
        self.acts = [make_activation(activation) for _ in self.hidden]
        self.out = self._adopt("out", Linear(self.hidden[-1] + self.n_cond, self.n_out,
                                             rng=rng, dtype=self.dtype))

    def forward(self, x, c):
        """x (N, n_in), c (N, n_cond) -> (N, n_out)."""
        self._check_inputs(x, c, 2, (self.n_in,))
        h = x
        for layer, act in zip(self.layers, self.acts):
            h = layer.forward_act(np.concatenate([h, c], axis=1), act)
        return self.out.forward(np.concatenate([h, c], axis=1))

    def backward(self, dout, need_dx=True):
        """dout (N, n_out) -> (dx, dc), or None if not ``need_dx``; adds into grads."""
        d = self.out.backward(dout)
        dc = d[:, self.hidden[-1]:].copy() if need_dx else None
        d = d[:, :self.hidden[-1]]
        for i in range(len(self.layers) - 1, -1, -1):
            d = self.layers[i].backward_act(d, self.acts[i], need_dx=need_dx or i > 0)
            if d is None:
                return None
            width = self.n_in if i == 0 else self.hidden[i - 1]
            if need_dx:
                dc += d[:, width:]
            d = d[:, :width]
        return d, dc

    def __repr__(self):
        return (f"LevelMLP({self.n_in} -> {' -> '.join(map(str, self.hidden))} -> "
                f"{self.n_out}, every layer also sees {self.n_cond} level features)")


def _down(h):
    """Size after a 3x3 convolution with stride 2 and padding 1: ceil(h / 2)."""
    return (h - 1) // 2 + 1


class LevelUNet(_TwoInput):
    """The small U-Net of the module docstring. image_shape (C, H, W);
    channels (C1, C2)."""

    def __init__(self, image_shape, channels, n_cond, *, rng, dense=256, activation="relu",
                 init="he", dtype=np.float64):
        super().__init__()
        self.image_shape = check_image_shape(image_shape)
        self.dense = check_positive_int(dense, "dense")
        ch = tuple(channels) if isinstance(channels, (tuple, list)) else ()
        if len(ch) != 2:
            raise ValueError(f"channels must be two widths (C1, C2), got {channels!r}")
        c1, c2 = (check_positive_int(c, f"channels[{i}]") for i, c in enumerate(ch))
        self.channels = (c1, c2)
        self.n_cond = check_positive_int(n_cond, "n_cond")
        check_rng(rng)
        check_choice(init, "init", INITS)
        self.dtype = check_dtype(dtype)
        C, H, W = self.image_shape
        kw = dict(rng=rng, init=init, dtype=self.dtype)
        h2, w2 = _down(H), _down(W)
        h3, w3 = _down(h2), _down(w2)
        # output padding brings 2h - 1 back to the skip's size
        self.convs = [self._adopt("down1", Conv2d(C, c1, 3, padding=1, **kw)),
                      self._adopt("down2", Conv2d(c1, c2, 3, stride=2, padding=1, **kw)),
                      self._adopt("mid", Conv2d(c2, c2, 3, stride=2, padding=1, **kw)),
                      self._adopt("up2", ConvTranspose2d(
                          c2, c2, 3, stride=2, padding=1,
                          output_padding=(h2 - 2 * h3 + 1, w2 - 2 * w3 + 1), **kw)),
                      self._adopt("up1", ConvTranspose2d(
                          c2, c1, 3, stride=2, padding=1,
                          output_padding=(H - 2 * h2 + 1, W - 2 * w2 + 1), **kw))]
        self.level = [self._adopt(f"level{k + 1}", Linear(self.n_cond, conv.out_channels,
                                                          rng=rng, dtype=self.dtype))
                      for k, conv in enumerate(self.convs)]
        self.acts = [make_activation(activation) for _ in self.convs]
        self.n_mid = c2 * h3 * w3                        # numbers in h3
        self.global_in = self._adopt("global_in", Linear(self.n_mid + self.n_cond, self.dense,
                                                         **kw))
        self.global_act = make_activation(activation)
        # the last layers of the global path and of the network start small: the
        # network starts near "output 0, global path off", not at outputs in the
        # thousands that the first steps would spend undoing
        self.global_out = self._adopt("global_out", Linear(self.dense, self.n_mid, rng=rng,
                                                           init="small", dtype=self.dtype))
        self.out = self._adopt("out", Conv2d(c1, C, 3, padding=1, rng=rng, init="small",
                                             dtype=self.dtype))

    def forward(self, x, c):
        """x (N, C, H, W), c (N, n_cond) -> (N, C, H, W)."""
        self._check_inputs(x, c, 4, self.image_shape)
        h, kept = x, []
        for k, (conv, level, act) in enumerate(zip(self.convs, self.level, self.acts)):
            pre = conv.forward(h) + level.forward(c)[:, :, None, None]
            h = act.forward(pre)
            if k == 2:                                           # h3 += the global path
                g = self.global_in.forward_act(
                    np.concatenate([h.reshape(len(h), -1), c], axis=1), self.global_act)
                h = h + self.global_out.forward(g).reshape(h.shape)
            elif k == 3:
                h = h + kept[1]                                  # u2 = ... + h2
            elif k == 4:
                h = h + kept[0]                                  # u1 = ... + h1
            kept.append(h)
        return self.out.forward(h)

    def backward(self, dout, need_dx=True):
        """dout (N, C, H, W) -> (dx, dc), or None if not ``need_dx``; adds into grads."""
        d = self.out.backward(dout)
        skip = {}                                        # gradient of h1, h2 via skips
        dc = 0.0
        for k in range(4, -1, -1):
            if k in skip:                                # h_k also fed a later skip
                d = d + skip.pop(k)
            if k >= 3:
                skip[4 - k] = d                          # u1 = ... + h1, u2 = ... + h2
            if k == 2:                                   # h3 = a + global(a): both paths
                dg = self.global_out.backward(d.reshape(len(d), -1))
                dz = self.global_in.backward_act(dg, self.global_act)
                d = d + dz[:, :self.n_mid].reshape(d.shape)
                if need_dx:
                    dc = dc + dz[:, self.n_mid:]
            dpre = self.acts[k].backward(d)
            dlev = self.level[k].backward(dpre.sum(axis=(2, 3)), need_dx=need_dx)
            if need_dx:
                dc = dc + dlev
            d = self.convs[k].backward(dpre, need_dx=need_dx or k > 0)
        return (d, dc) if need_dx else None

    def __repr__(self):
        C, H, W = self.image_shape
        return (f"LevelUNet(({C}, {H}, {W}), channels={self.channels}, dense={self.dense}, "
                f"every block also sees {self.n_cond} level features)")
