"""Convolutional autoencoders: a plain/denoising one and a VAE, both built
from a compact layer spec.

The spec
--------
A list whose entries are an activation name (``"relu"``), ``"flatten"``, or
a tuple ``(kind, *args)`` optionally ending in a dict of keywords:

    ("conv", C_out, kernel[, {"stride": s, "padding": p}])      Conv2d
    ("convT", C_out, kernel[, {"stride", "padding", "output_padding"}])
    ("maxpool", kernel[, {"stride", "padding"}]), ("avgpool", ...)
    ("upsample", scale[, {"mode": "nearest" | "bilinear"}])
    ("linear", n_out), ("reshape", C, H, W)

Input channels are never written: each layer is built for the shape the
previous one produces (worked out on a one-example batch of zeros). So the
PML book's CNN autoencoder (Murphy, *Probabilistic Machine Learning*, 2022,
section 20.3.1) is ``PML_BOOK_CNN`` below: three
3x3 "same" convolutions (16, 32, 64 channels) each followed by 2x2 max
pooling, 28 -> 14 -> 7 -> 3, a (64, 3, 3) code of 576 numbers; the decoder
mirrors it with three stride-2 transposed convolutions, 3 -> 7 -> 14 -> 28.
(The hidden units here are ReLUs.)

Inputs
------
A model has an ``input_shape`` such as (1, 28, 28) and accepts a batch as
(N, 1, 28, 28) **or** flat (N, 784), the layout of ``load_mnist`` and of
every MLP lesson, which it reshapes (a view, no copy). ``reconstruct``
returns the layout it was given, so a conv and an MLP model are
interchangeable in ``fit``, ``evaluate`` and the lessons' plots.

Losses and gradients are the MLP family's: the decoder's last output is
flattened to (N, D) and scored by the likelihood's op (``losses.RECONSTRUCTION``,
derivations in ``tinyae.functional``); corruption (``tinyae.corruption``)
is applied to the input exactly as in ``MLPAutoencoder``; the VAE uses
``ops.reparameterize_kl`` like ``models.vae.VAE`` (its docstring has the
reparameterisation gradient). The convolution gradients are in
``functional.conv``.
"""

import numpy as np

from .._validation import (check_choice, check_dtype, check_nonneg_float,
                           check_positive_int, check_rng, check_same_shape)
from ..backend import ops
from ..corruption import corrupt
from ..layers import (ACTIVATIONS, INITS, AvgPool2d, Conv2d, ConvTranspose2d, Flatten,
                      Linear, MaxPool2d, Reshape, Sequential, Upsample)
from ..layers import activation as make_activation
from ..losses import RECONSTRUCTION, check_overflow, check_support
from .base import Model, SplitsWithEps, batched, draw_eps
from .mlp import SplitsWithNoise, check_corruption

#: The PML book's CNN autoencoder for MNIST (section 20.3.1): a (64, 3, 3) code.
PML_BOOK_CNN = {
    "encoder": [("conv", 16, 3, {"padding": 1}), "relu", ("maxpool", 2),
                ("conv", 32, 3, {"padding": 1}), "relu", ("maxpool", 2),
                ("conv", 64, 3, {"padding": 1}), "relu", ("maxpool", 2)],
    "decoder": [("convT", 32, 3, {"stride": 2}), "relu",
                ("convT", 16, 3, {"stride": 2, "padding": 1, "output_padding": 1}), "relu",
                ("convT", 1, 3, {"stride": 2, "padding": 1, "output_padding": 1})],
}


def _conv(shape, c_out, kernel, *, rng, init, dtype, **kw):
    return Conv2d(shape[0], c_out, kernel, rng=rng, init=init, dtype=dtype, **kw)


def _conv_t(shape, c_out, kernel, *, rng, init, dtype, **kw):
    return ConvTranspose2d(shape[0], c_out, kernel, rng=rng, init=init, dtype=dtype, **kw)


def _linear(shape, n_out, *, rng, init, dtype):
    return Linear(shape[-1], n_out, rng=rng, init=init, dtype=dtype)


def _params_free(cls):
    return lambda shape, *args, rng, init, dtype, **kw: cls(*args, **kw)


#: spec kind -> fn(current example shape, *args, rng, init, dtype, **kw) -> Layer.
SPEC_LAYERS = {
    "conv": _conv, "convT": _conv_t, "linear": _linear,
    "maxpool": _params_free(MaxPool2d), "avgpool": _params_free(AvgPool2d),
    "upsample": _params_free(Upsample), "reshape": _params_free(Reshape),
}


def build(spec, input_shape, *, rng, init="glorot", dtype=np.float64, name="spec"):
    """A Sequential from a spec (module docstring) for examples of
    ``input_shape``; returns (Sequential, output example shape)."""
    if not isinstance(spec, (list, tuple)) or not spec:
        raise ValueError(f"{name} must be a non-empty list of layer entries, got {spec!r}")
    layers, shape = [], tuple(input_shape)
    for i, entry in enumerate(spec):
        where = f"{name}[{i}]"
        if isinstance(entry, str):
            if entry == "flatten":
                layer = Flatten()
            elif entry in ACTIVATIONS:
                layer = make_activation(entry)
            else:
                raise ValueError(f"{where} must be an activation "
                                 f"{sorted(ACTIVATIONS)}, 'flatten' or a tuple, got {entry!r}")
        elif isinstance(entry, tuple) and entry and entry[0] in SPEC_LAYERS:
            args, kw = entry[1:], {}
            if args and isinstance(args[-1], dict):
                args, kw = args[:-1], args[-1]
            try:
                layer = SPEC_LAYERS[entry[0]](shape, *args, rng=rng, init=init,
                                              dtype=dtype, **kw)
            except (TypeError, ValueError) as err:
                raise ValueError(f"{where} = {entry!r}: {err}") from None
        else:
            raise ValueError(f"{where} must be a string or a tuple starting with one of "
                             f"{sorted(SPEC_LAYERS)}, got {entry!r}")
        try:
            shape = layer.forward(np.zeros((1, *shape), dtype))[0].shape
        except (TypeError, ValueError) as err:
            raise ValueError(f"{where} = {entry!r} does not fit its input of shape "
                             f"{shape}: {err}") from None
        layers.append(layer)
    return Sequential(*layers), tuple(shape)


class _ImageModel(Model):
    """Shared input handling: (N, *input_shape) or flat (N, D)."""

    def _init_common(self, input_shape, likelihood, init, dtype):
        shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else None
        if shape is None or len(shape) != 3:
            raise ValueError(f"input_shape must be (channels, height, width), "
                             f"got {input_shape!r}")
        self.input_shape = tuple(check_positive_int(s, f"input_shape[{i}]")
                                 for i, s in enumerate(shape))
        self.n_in = int(np.prod(self.input_shape))
        self.likelihood = check_choice(likelihood, "likelihood", RECONSTRUCTION)
        self.init = check_choice(init, "init", INITS)
        self.dtype = check_dtype(dtype)
        self._loss_op = RECONSTRUCTION[self.likelihood]

    def _images(self, x, name="x"):
        """x: (N, *input_shape) or (N, D) -> (N, *input_shape) (a view)."""
        flat = isinstance(x, np.ndarray) and x.ndim == 2
        self._check_x(x, self.n_in if flat else self.input_shape, name)
        if x.size:
            check_support(x, self.likelihood, name)       # as MLPAutoencoder
        return x.reshape(x.shape[0], *self.input_shape)

    def _check_spec_end(self, out_shape):
        if out_shape != self.input_shape:
            raise ValueError(f"decoder output shape {out_shape} does not match "
                             f"input_shape {self.input_shape}: adjust the decoder spec")

    def _mean(self, out):
        """Decoder output -> mean of p(x | code): probabilities for bernoulli."""
        return ops.sigmoid_forward(out)[0] if self.likelihood == "bernoulli" else out

    def _recon_loss(self, out, target):
        """out, target: (N, *input_shape) -> (loss, dout) via the likelihood's
        op on the (N, D) views (sum over pixels, mean over the batch)."""
        n = out.shape[0]
        loss, dout = getattr(ops, self._loss_op)(out.reshape(n, -1), target.reshape(n, -1))
        return loss, dout.reshape(out.shape)


class ConvAutoencoder(SplitsWithNoise, _ImageModel):
    """An autoencoder whose encoder and decoder are built from specs.

    encoder: spec from ``input_shape`` to the code (any shape: (64, 3, 3)
    for the book's CNN, (30,) after "flatten" and ("linear", 30)); decoder:
    spec from the code back to ``input_shape``, ending without an activation
    (logits for ``likelihood="bernoulli"``, values for the squared error).
    corruption: None or a ``tinyae.corruption.Corruption`` (a convolutional
    denoising autoencoder: the loss reconstructs clean x from the corrupted
    input, as ``MLPAutoencoder(corruption=...)``). ``ConvAutoencoder(
    **PML_BOOK_CNN, rng=rng)`` is the PML book's model. ``code_shape`` is the
    shape of one code, ``n_code`` the number of values in it.

    Parameter names: ``encoder.<i>.W``, ``decoder.<i>.b``... (i = index in
    the spec). Loss: sum over pixels, mean over the batch.
    """

    #: a mean of per-example terms, as ``MLPAutoencoder``'s (``SplitsWithNoise``)
    _splits_batch = True

    def __init__(self, *, encoder, decoder, rng, input_shape=(1, 28, 28),
                 likelihood="bernoulli", corruption=None, init="glorot", dtype=np.float64):
        super().__init__()
        self._init_common(input_shape, likelihood, init, dtype)
        check_rng(rng)
        self.corruption = check_corruption(corruption)
        kw = dict(rng=rng, init=init, dtype=self.dtype)
        self.encoder, self.code_shape = build(encoder, self.input_shape, name="encoder", **kw)
        self.decoder, out_shape = build(decoder, self.code_shape, name="decoder", **kw)
        self._check_spec_end(out_shape)
        self.n_code = int(np.prod(self.code_shape))
        self.modules = {"encoder": self.encoder, "decoder": self.decoder}

    # -- inference ---------------------------------------------------------
    def encode(self, x):
        """x: ``(N, *input_shape)`` or ``(N, D)`` -> code: ``(N, *code_shape)``."""
        return batched(self.encoder.forward, self._images(x))

    def decode(self, z):
        """code: ``(N, *code_shape)`` -> mean reconstruction ``(N, *input_shape)``."""
        self._check_x(z, self.code_shape, "z")
        return self._mean(batched(self.decoder.forward, z))

    def reconstruct(self, x):
        """x -> reconstruction in the layout of x (flat in, flat out)."""
        return self.decode(self.encode(x)).reshape(x.shape)

    # -- training ----------------------------------------------------------
    def _inputs(self, x, target, noise, rng):
        """(input, target) as images: x corrupted by ``noise`` (shaped like
        x as given, drawn from ``rng`` unless given) when the model has a
        corruption (``tinyae.corruption.corrupt``), and the clean x unless
        ``target`` is given."""
        x4 = self._images(x)
        if target is None:
            target = x4
        else:
            check_same_shape(target, "target", x, "x")
            target = self._images(target, "target")
        return corrupt(self.corruption, x, noise, rng).reshape(x4.shape), target

    def loss_and_grad(self, x, *, target=None, noise=None, rng=None):
        """Reconstruction loss of ``target`` (default: the clean x) from x,
        corrupted first if the model has a corruption; see ``Model``.
        x, target, noise: ``(N, *input_shape)`` or ``(N, D)``."""
        x_in, target = self._inputs(x, target, noise, rng)
        self.zero_grad()
        out = self.decoder.forward(self.encoder.forward(x_in))  # (N, *input_shape)
        recon, dout = self._recon_loss(out, target)
        self.encoder.backward(self.decoder.backward(dout), need_dx=False)
        self.last_stats = {"recon": recon}
        return recon, self.grads

    def loss(self, x, *, target=None, noise=None, rng=None):
        """The loss of ``loss_and_grad`` by a forward pass only."""
        x_in, target = self._inputs(x, target, noise, rng)
        recon, _ = self._recon_loss(self.decoder.forward(self.encoder.forward(x_in)), target)
        self.last_stats = {"recon": recon}
        return recon


class ConvVAE(SplitsWithEps, _ImageModel):
    """A variational autoencoder with convolutional encoder and decoder.

    encoder: spec from ``input_shape`` to features, flattened and sent to
    two linear heads, mu and logvar (``n_code`` each); decoder: spec from
    (n_code,) back to ``input_shape`` -- e.g. ("linear", 64*7*7), "relu",
    ("reshape", 64, 7, 7), then transposed convolutions, or upsample + conv
    (see ``CONV_VAE_DECODERS``). Loss ``recon + beta * KL`` in nats per
    example with z = mu + exp(logvar / 2) eps (``ops.reparameterize_kl``;
    derivation in ``models.vae``). Parameter names ``encoder.<i>.W``,
    ``encoder_mu.W``, ``encoder_logvar.W``, ``decoder.<i>.W``.
    """

    #: per-example terms, as ``VAE``'s (``SplitsWithEps``)
    _splits_batch = True

    def __init__(self, *, encoder, decoder, n_code, rng, input_shape=(1, 28, 28),
                 likelihood="bernoulli", beta=1.0, init="glorot", dtype=np.float64):
        super().__init__()
        self._init_common(input_shape, likelihood, init, dtype)
        self.n_code = check_positive_int(n_code, "n_code")
        self.beta = check_nonneg_float(beta, "beta")
        check_rng(rng)
        kw = dict(rng=rng, init=init, dtype=self.dtype)
        body, feat = build(list(encoder) + ["flatten"], self.input_shape, name="encoder", **kw)
        self.encoder = body
        self.encoder_mu = Linear(feat[0], self.n_code, **kw)
        self.encoder_logvar = Linear(feat[0], self.n_code, **kw)
        self.decoder, out_shape = build(decoder, (self.n_code,), name="decoder", **kw)
        self._check_spec_end(out_shape)
        self.modules = {"encoder": self.encoder, "encoder_mu": self.encoder_mu,
                        "encoder_logvar": self.encoder_logvar, "decoder": self.decoder}

    def _heads(self, x4):
        h = self.encoder.forward(x4)                             # (N, features)
        return self.encoder_mu.forward(h), self.encoder_logvar.forward(h)

    def encode(self, x):
        """x -> (mu, logvar) of q(z | x), each (N, n_code)."""
        both = batched(lambda b: np.concatenate(self._heads(b), axis=1), self._images(x))
        return both[:, :self.n_code], both[:, self.n_code:]

    def decode(self, z):
        """z: (N, n_code) -> mean of p(x | z), ``(N, *input_shape)``."""
        self._check_x(z, self.n_code, "z")
        return self._mean(batched(self.decoder.forward, z))

    def reconstruct(self, x):
        """Decode the posterior mean, in the layout of x."""
        return self.decode(self.encode(x)[0]).reshape(x.shape)

    def sample(self, n, *, rng):
        """n draws z ~ N(0, I) decoded to means: ``(n, *input_shape)``."""
        n = check_positive_int(n, "n")
        return self.decode(check_rng(rng).standard_normal((n, self.n_code), dtype=self.dtype))

    def loss_and_grad(self, x, *, eps=None, rng=None):
        """Negative ELBO (beta-weighted) of the batch and its gradients.

        eps: (N, n_code) standard-normal draws (for a deterministic check),
        else drawn from ``rng``. ``last_stats`` = {"recon", "kl"}.
        """
        x4 = self._images(x)
        eps = draw_eps(eps, rng, (x4.shape[0], self.n_code), self.dtype)
        self.zero_grad()
        mu, logvar = self._heads(x4)                             # (N, n_code) each
        z, kl, rep_cache = ops.reparameterize_kl(mu, logvar, eps)
        out = self.decoder.forward(z)                            # (N, *input_shape)
        recon, dout = self._recon_loss(out, x4)
        loss = self._total(recon, kl, x4, logvar)
        dmu, dlogvar = ops.reparameterize_kl_backward(self.decoder.backward(dout),
                                                      rep_cache, self.beta)
        dh = self.encoder_mu.backward(dmu) + self.encoder_logvar.backward(dlogvar)
        self.encoder.backward(dh, need_dx=False)
        return loss, self.grads

    def loss(self, x, *, eps=None, rng=None):
        """The loss of ``loss_and_grad`` by a forward pass only."""
        x4 = self._images(x)
        eps = draw_eps(eps, rng, (x4.shape[0], self.n_code), self.dtype)
        mu, logvar = self._heads(x4)
        z, kl, _ = ops.reparameterize_kl(mu, logvar, eps)
        recon, _ = self._recon_loss(self.decoder.forward(z), x4)
        return self._total(recon, kl, x4, logvar)

    def _total(self, recon, kl, x, logvar):
        """recon + beta KL, refused when it overflowed on finite data (as ``VAE``)."""
        self.last_stats = {"recon": recon, "kl": kl}
        return check_overflow(recon + self.beta * kl, x,
                              {"the encoder's log-variance": logvar}, self.params)


#: Two decoders for a 28x28 ConvVAE: transposed convolutions, or nearest
#: upsampling followed by convolution (Odena et al., 2016).
CONV_VAE_ENCODER = [("conv", 32, 4, {"stride": 2, "padding": 1}), "relu",
                    ("conv", 64, 4, {"stride": 2, "padding": 1}), "relu"]
CONV_VAE_DECODERS = {
    "transposed": [("linear", 64 * 7 * 7), "relu", ("reshape", 64, 7, 7),
                   ("convT", 32, 4, {"stride": 2, "padding": 1}), "relu",
                   ("convT", 1, 4, {"stride": 2, "padding": 1})],
    "upsample": [("linear", 64 * 7 * 7), "relu", ("reshape", 64, 7, 7),
                 ("upsample", 2), ("conv", 32, 3, {"padding": 1}), "relu",
                 ("upsample", 2), ("conv", 1, 3, {"padding": 1})],
}


# --------------------------------------------------------------------------
# Diagnostics of upsampling decoders (Odena, Dumoulin and Olah, "Deconvolution
# and checkerboard artifacts", Distill 2016)
# --------------------------------------------------------------------------

def overlap_map(kernel, stride, *, mode="transposed", size=8):
    """How many kernel taps reach each output pixel of one upsampling stage.

    mode "transposed": a transposed convolution of an all-ones (size, size)
    input with an all-ones kernel and no padding: every input pixel stamps
    the kernel onto the output, so each output pixel holds the number of
    stamps covering it. mode "upsample": nearest upsampling by ``stride``
    followed by a convolution with padding kernel // 2 (resize-convolution).
    Returns the interior of the map, ``kernel`` pixels away from the borders
    (where fewer input pixels exist), as float64.

    For stride 2: kernel 3 gives counts 1, 2, 4 (max/min 4), kernel 5 gives
    4, 6, 9 (2.25), kernel 4 is uniform (4), resize-convolution is uniform
    (kernel^2): the kernel size must be divisible by the stride for a
    transposed convolution to cover its output evenly.
    """
    kernel = check_positive_int(kernel, "kernel")
    stride = check_positive_int(stride, "stride")
    check_choice(mode, "mode", ("transposed", "upsample"))
    size = check_positive_int(size, "size")
    x = np.ones((1, 1, size, size))
    w = np.ones((1, 1, kernel, kernel))
    if mode == "transposed":
        out = ops.conv_transpose2d_forward(x, w, np.zeros(1), stride, 0, 0)[0]
    else:
        up = ops.upsample_nearest2d_forward(x, stride)[0]
        out = ops.conv2d_forward(up, w, np.zeros(1), 1, kernel // 2)[0]
    m = kernel
    if out.shape[-1] <= 2 * m:
        raise ValueError(f"size {size} is too small for kernel {kernel} and stride "
                         f"{stride}: no interior is left")
    return out[0, 0, m:-m, m:-m].astype(np.float64)


def checkerboard_power(images):
    """Share of each image's variance in the period-2 patterns.

    images: (N, H, W) or (N, 1, H, W) with H, W even. With Y the 2-D DFT of
    an image minus its mean, the share is

        (|Y(pi, pi)|^2 + |Y(pi, 0)|^2 + |Y(0, pi)|^2) / sum_k |Y(k)|^2,

    i.e. the power of the patterns (-1)^(i+j), (-1)^i and (-1)^j -- the
    checkerboard and stripes a stride-2 decoder leaves -- over the total.
    An image with uniform random pixels has about 3 / (H W); a smooth
    digit far less. Returns the mean over images (a float). An RGB batch is
    an error (pass one channel, or the grey levels ``images.mean(axis=1)``),
    as are NaN and inf.
    """
    a = np.asarray(images, dtype=np.float64)
    if not (a.ndim == 3 or (a.ndim == 4 and a.shape[1] == 1)) or a.shape[0] == 0:
        raise ValueError(
            f"images must have shape (N, H, W) or (N, 1, H, W) with N >= 1 (one channel), "
            f"got shape {a.shape}" + ("; for colour images pass one channel or the grey "
                                      "levels images.mean(axis=1)"
                                      if a.ndim == 4 and a.shape[1] > 1 else ""))
    if not np.isfinite(a).all():
        raise ValueError(f"images contains {a.size - np.count_nonzero(np.isfinite(a))} "
                         f"non-finite value(s) (NaN or inf)")
    a = a.reshape(a.shape[0], *a.shape[-2:])
    if a.shape[1] % 2 or a.shape[2] % 2:
        raise ValueError(f"images must have even height and width, got shape {a.shape}")
    a = a - a.mean(axis=(1, 2), keepdims=True)
    h, w = a.shape[1:]
    si = (-1.0) ** np.arange(h)[:, None]                  # (H, 1) pattern (-1)^i
    sj = (-1.0) ** np.arange(w)[None, :]                  # (1, W) pattern (-1)^j
    # |Y(pi, pi)|^2 / (H W) etc., by Parseval the share of sum a^2
    parts = [np.sum(a * (si * sj), axis=(1, 2)), np.sum(a * si, axis=(1, 2)),
             np.sum(a * sj, axis=(1, 2))]
    total = np.sum(a * a, axis=(1, 2)) * h * w
    power = sum(p * p for p in parts) / np.maximum(total, np.finfo(np.float64).tiny)
    return float(np.mean(power))
