"""Stacked (denoising) autoencoder: greedy layer-wise pretraining, then
end-to-end fine-tuning of the unrolled deep autoencoder (Bengio et al., 2007;
Vincent et al., 2010; Hinton and Salakhutdinov, 2006).

A deep autoencoder ``sizes = (n_0, n_1, ..., n_k)`` is hard to train from a
random start. Greedy pretraining builds it one level at a time:

    h_0 = x
    for l = 0 .. k-1:
        train a one-hidden-layer AE (a DAE if a corruption is given)
            n_l -> n_{l+1} -> n_l   on   h_l
        copy its encoder into level l of the stack, its decoder into the
            mirror level of the deep decoder
        h_{l+1} = its code of the *clean* h_l

The stack is then the deep autoencoder

    x -> f_0 -> f_1 -> ... -> f_{k-1} = code -> g_{k-1} -> ... -> g_0 -> x_hat,

whose every weight starts where its small AE left it, and fine-tuning trains
all of it together on the reconstruction loss of x (from a corrupted x when
``corruption`` is given and ``denoise_finetune`` is on). The gradient of the
unrolled network is the ordinary MLP-autoencoder gradient: nothing new to
derive, which is why this class is an ``MLPAutoencoder`` (denoising when
it has a corruption and ``denoise_finetune``).

Choice (documented): the deep decoder is **initialised from the pretrained
per-level decoders** (untied, ``tied=False``, the default); with
``tied=True`` every level AE is tied and the deep decoder reuses the encoder
weights transposed, so only the decoder biases are copied.

Per-level losses: level 0 reconstructs x with the stack's ``likelihood``
(``"bernoulli"``: BCE on logits, for pixels in [0, 1]). A level l > 0
reconstructs the codes h_l, which lie in (0, 1) for a sigmoid activation, so
it uses the Bernoulli loss there (its decoder's sigmoid is then exactly the
deep decoder's activation at that level) and the squared error otherwise
(the deep decoder then applies ``activation`` to that level's linear output,
a small mismatch fine-tuning absorbs).
"""

import numpy as np

from .._validation import check_choice, check_positive_int, check_rng
from ..layers import ACTIVATIONS
from ..optim import Adam
from ..train import evaluate, fit
from .base import batched
from .mlp import MLPAutoencoder, check_corruption


class StackedAutoencoder(MLPAutoencoder):
    """A deep autoencoder built by greedy layer-wise (denoising) pretraining.

    sizes = (n_0, ..., n_k), k >= 1. Keywords as ``MLPAutoencoder``
    (``activation`` for hidden levels, ``code_activation`` for the top code,
    which defaults to ``activation`` as in the classic stacked DAE), plus:

    corruption: None (plain AEs) or a ``tinyae.corruption.Corruption``; it
        is applied to each level's input during pretraining
        (``pretrain_corruption``), and to x during fine-tuning if
        ``denoise_finetune`` (``corruption``, None otherwise).
    denoise_finetune: fine-tune as a denoising AE (default True; ignored
        without a corruption).

    Workflow::

        sae = StackedAutoencoder(sizes=(784, 256, 64), corruption=MaskingNoise(0.25),
                                 activation="sigmoid", rng=rng, dtype=np.float32)
        report = sae.pretrain(x, epochs=3, batch_size=64, rng=rng)   # greedy
        fit(sae, x, optimizer=Adam(sae.params, lr=1e-3), ...)        # fine-tune
        codes = sae.encode(x)                                         # (n, n_k)

    Parameter names are ``MLPAutoencoder``'s (``encoder.0.W`` ...).
    ``pretrain_report_`` (after ``pretrain``) lists, per level, the level
    AE's loss on its training input before and after its training.
    """

    def __init__(self, *, sizes, rng, activation="sigmoid", code_activation=None,
                 likelihood="bernoulli", corruption=None, denoise_finetune=True,
                 tied=False, init="glorot", dtype=np.float64):
        self.pretrain_corruption = check_corruption(corruption)
        self.denoise_finetune = bool(denoise_finetune)
        check_choice(activation, "activation", ACTIVATIONS)
        code_activation = activation if code_activation is None else code_activation
        super().__init__(sizes=sizes, rng=rng, activation=activation,
                         code_activation=code_activation, likelihood=likelihood,
                         corruption=corruption if self.denoise_finetune else None,
                         tied=tied, init=init, dtype=dtype)
        n = len(self.sizes) - 1
        # Level l's linear maps: encoder.layers = [lin_0, act, lin_1, act, ...];
        # decoder.layers = [lin_{k-1}, act, ..., lin_1, act, lin_0].
        self._enc_linear = [self.encoder[2 * level] for level in range(n)]
        self._dec_linear = [self.decoder[2 * (n - 1 - level)] for level in range(n)]
        self.pretrain_report_ = None

    # -- greedy layer-wise pretraining ---------------------------------------
    def level_autoencoder(self, level, *, rng):
        """A fresh one-hidden-layer AE (a DAE with a corruption) for ``level``:
        ``n_level -> n_{level+1} -> n_level``, with this stack's activation,
        tying, init and dtype and the level's loss (see the module docstring)."""
        n = len(self.sizes) - 1
        kwargs = dict(
            sizes=(self.sizes[level], self.sizes[level + 1]), rng=rng,
            code_activation=self.code_activation if level == n - 1 else self.activation,
            likelihood=self.likelihood if level == 0 else (
                "bernoulli" if self.activation == "sigmoid" else "mse"),
            corruption=self.pretrain_corruption,
            tied=self.tied, init=self.init, dtype=self.dtype)
        return MLPAutoencoder(**kwargs)

    def pretrain(self, x, *, epochs, batch_size, rng, lr=1e-3, optimizer_factory=None,
                 progress=False):
        """Greedy layer-wise pretraining on x: (n, n_0); returns a report.

        epochs: int (every level) or a sequence with one entry per level.
        optimizer_factory: ``f(params) -> Optimizer`` (default Adam with ``lr``).
        Each level AE is trained with ``tinyae.train.fit`` on the clean codes
        of the levels below; its weights are then copied in place into this
        stack. Returns (and stores as ``pretrain_report_``) a list with, per
        level, ``{"level", "sizes", "loss_before", "loss_after", "history",
        "model"}`` (``model``: the trained level AE), the losses measured on the level's whole training input (with a fixed
        corruption draw, so before and after see the same noise).
        """
        self._check_x(x, self.sizes[0])
        check_rng(rng)
        n = len(self.sizes) - 1
        if isinstance(epochs, (list, tuple)):
            if len(epochs) != n:
                raise ValueError(f"epochs must be an int or have one entry per level "
                                 f"({n}), got {epochs!r}")
            per_level = [check_positive_int(e, f"epochs[{i}]") for i, e in enumerate(epochs)]
        else:
            per_level = [check_positive_int(epochs, "epochs")] * n
        if optimizer_factory is None:
            def optimizer_factory(params):
                return Adam(params, lr=lr)

        report, h = [], x                                   # h: (n, n_level)
        for level in range(n):
            ae = self.level_autoencoder(level, rng=rng)
            seed = int(rng.integers(2**63))
            before = evaluate(ae, h, rng=np.random.default_rng(seed))[0]
            history = fit(ae, h, optimizer=optimizer_factory(ae.params),
                          epochs=per_level[level], batch_size=batch_size, rng=rng,
                          progress=progress)
            after = evaluate(ae, h, rng=np.random.default_rng(seed))[0]
            self._copy_level(level, ae)
            report.append({"level": level, "sizes": ae.sizes, "loss_before": before,
                           "loss_after": after, "history": history, "model": ae})
            if level < n - 1:
                h = ae.encode(h)                            # clean codes: (n, n_{l+1})
        self.pretrain_report_ = report
        return report

    def _copy_level(self, level, ae):
        """Copy a trained level AE into level ``level`` of the stack, in place
        (optimisers and checkpoints hold references to these arrays)."""
        enc, dec = ae.encoder[0], ae.decoder[0]
        targets = [(self._enc_linear[level], enc), (self._dec_linear[level], dec)]
        for mine, theirs in targets:
            for k, v in theirs.params.items():
                mine.params[k][...] = v

    def reconstruction_error(self, x):
        """Per-example squared error ``sum_d (x_hat - x)^2``: (batch,) float64,
        with x_hat = ``reconstruct(x)`` (probabilities for a Bernoulli output).
        The outlier score of lesson 08: large where x is unlike the training data."""
        self._check_x(x, self.sizes[0])
        return batched(lambda xb: np.sum((self.reconstruct(xb) - xb).astype(np.float64) ** 2,
                                         axis=1), x)

