"""A denoising diffusion model for images, whose network predicts the clean
image (lesson 19, section 9).

The schedule, the forward process and the sampler are ``DiffusionModel``'s
(Ho, Jain and Abbeel, 2020); what changes in hundreds of dimensions is the
network and what it predicts.

The skip path
-------------
At the top of the ladder x_T is almost pure noise, so the best noise
prediction is almost x_T itself: a network that outputs eps_theta directly
has to copy all D numbers of x_T through its hidden layers, which a hidden
layer narrower than D cannot do and a wide one learns slowly. With
``predict="clean"`` the network outputs an estimate of the clean image,
x0_hat(x_t, t), and the noise estimate is the forward process's closed form
x_t = sqrt(alpha_bar_t) x_0 + sigma_t eps solved for eps,

    eps_theta(x_t, t) = (x_t - sqrt(alpha_bar_t) x0_hat(x_t, t)) / sigma_t,

so x_t reaches the output directly and the network is a denoising
autoencoder at every level. (``predict="noise"``: the network's output is
eps_theta, no skip; for comparison.) Both predict the same thing at the
optimum: E[eps | x_t] = (x_t - sqrt(alpha_bar_t) E[x_0 | x_t]) / sigma_t.

The loss: Eq. 14 or the reconstruction error
---------------------------------------------
With SNR_t = alpha_bar_t / (1 - alpha_bar_t), the error of Eq. 14 at level t
is the error of the clean image scaled by SNR_t,

    || eps - eps_theta ||^2 = SNR_t || x_0 - x0_hat ||^2,

since eps - eps_theta = sqrt(alpha_bar_t) (x0_hat - x_0) / sigma_t. SNR_t
runs from about 500 at the bottom of a 100-level ladder to 4e-5 at the top,
so Eq. 14 gives the cleanest levels nearly all the weight.
``weighting="clean"`` trains on || x_0 - x0_hat ||^2 instead, the
reconstruction loss of a denoising autoencoder, with the same weight at
every level (Eq. 14 divided by SNR_t); ``weighting="noise"`` is Eq. 14.
Both are sums over pixels, means over the batch. A weight per level moves
no level's minimiser (lesson 19, section 3: the decomposition holds level
by level); it decides how a finite network shares its effort between
levels. The network's own output gets the gradient

    dL/dout = 2 c_t (out - target) / N,

target x_0 or eps as predicted, c_t = 1 when the loss is in the units of
the output, SNR_t for predict="clean" with Eq. 14 and 1 / SNR_t for
predict="noise" with the reconstruction loss; from there the denoiser's own
backward pass (``models.denoisers``).
"""

import numpy as np

from .._validation import check_choice
from .denoisers import LevelMLP, LevelUNet, check_image_shape
from .diffusion import DiffusionModel, level_embedding

#: The denoising networks ``ImageDiffusionModel(denoiser=...)`` can use.
DENOISERS = ("mlp", "unet")


class ImageDiffusionModel(DiffusionModel):
    """A DDPM on images (module docstring), data as flat rows (N, C*H*W).

    Hyperparameters (keyword-only): image_shape (C, H, W), n_levels, rng,
    denoiser ("mlp": ``LevelMLP`` with the widths ``hidden``; "unet":
    ``LevelUNet`` with ``channels`` and a global path of ``dense`` units),
    predict ("clean": the skip path; "noise"), weighting ("clean": the
    reconstruction loss; "noise": Eq. 14), embed_dim, activation, beta_min,
    beta_max, init, dtype. Module: ``net``.
    Schedule as ``DiffusionModel``'s, plus ``snr`` (SNR_t), index t - 1.
    """

    def __init__(self, *, image_shape, n_levels, rng, denoiser="mlp", hidden=(512, 512),
                 channels=(32, 64), dense=256, predict="clean", weighting="clean", embed_dim=32,
                 activation="relu", beta_min=0.1, beta_max=20.0, init="he",
                 dtype=np.float64):
        super(DiffusionModel, self).__init__()
        self.image_shape = check_image_shape(image_shape)
        self.n_in = int(np.prod(self.image_shape))
        self._set_up(n_levels, embed_dim, activation, beta_min, beta_max, rng, init, dtype)
        self.denoiser = check_choice(denoiser, "denoiser", DENOISERS)
        self.predict = check_choice(predict, "predict", ("clean", "noise"))
        self.weighting = check_choice(weighting, "weighting", ("clean", "noise"))
        self.snr = self.alpha_bars / (1.0 - self.alpha_bars)                 # (T,)
        same = self.predict == self.weighting
        self._coef = np.ones(self.n_levels) if same else \
            self.snr if self.predict == "clean" else 1.0 / self.snr          # c_t
        kw = dict(rng=rng, activation=activation, init=init, dtype=self.dtype)
        if self.denoiser == "mlp":
            self.net = LevelMLP(self.n_in, hidden, self.n_in, self.embed_dim, **kw)
        else:
            self.net = LevelUNet(self.image_shape, channels, self.embed_dim, dense=dense, **kw)
        self.modules = {"net": self.net}

    # -- the network -----------------------------------------------------------
    def _shaped(self, x):
        return x if self.denoiser == "mlp" else x.reshape(len(x), *self.image_shape)

    def _run(self, x_t, t):
        """The network's output for rows x_t at levels t (n,): (n, D)."""
        emb = level_embedding(t, self.embed_dim, self.n_levels).astype(self.dtype)
        return self.net.forward(self._shaped(x_t), emb).reshape(len(x_t), self.n_in)

    def _scales(self, t, dtype):
        """sqrt(alpha_bar_t) and sigma_t as (n, 1) columns."""
        ab = self.alpha_bars[t - 1][:, None]
        return np.sqrt(ab).astype(dtype), np.sqrt(1.0 - ab).astype(dtype)

    def _both(self, x_t, t, chunk=1000):
        """(x0_hat, eps_theta) for rows x_t at levels t, in chunks of rows."""
        self._check_x(x_t, self.n_in, "x_t")
        t = self._check_t(t, x_t.shape[0])
        clean, noise = [], []
        for i in range(0, len(x_t), chunk):
            x, tt = x_t[i:i + chunk], t[i:i + chunk]
            out = self._run(x, tt)
            a, s = self._scales(tt, self.dtype)
            if self.predict == "clean":
                clean.append(out)
                noise.append((x - a * out) / s)
            else:
                clean.append((x - s * out) / a)
                noise.append(out)
        return np.concatenate(clean), np.concatenate(noise)

    def predict_clean(self, x_t, t):
        """x0_hat(x_t, t): x_t (n, D), t int or (n,) -> (n, D)."""
        return self._both(x_t, t)[0]

    def predict_noise(self, x_t, t):
        """eps_theta(x_t, t) = (x_t - sqrt(alpha_bar_t) x0_hat) / sigma_t (or the
        network's own output with predict="noise"): (n, D)."""
        return self._both(x_t, t)[1]

    # -- the loss ----------------------------------------------------------------
    def _loss(self, x, t, noise, grad):
        x_t = self.diffuse(x, t, noise)
        out = self._run(x_t, t)
        r = out - (x if self.predict == "clean" else noise)
        coef = self._coef[t - 1]                                 # (n,)
        per_row = np.einsum("nd,nd->n", r, r, dtype=np.float64)
        loss = float(np.mean(coef * per_row))
        self.last_stats = {"recon": loss}
        if not grad:
            return loss
        dout = (2.0 / len(x)) * coef.astype(self.dtype)[:, None] * r
        self.net.backward(self._shaped(dout), need_dx=False)      # x_t is data
        return loss

    def loss_and_grad(self, x, *, t=None, noise=None, rng=None):
        """The loss (module docstring) and its gradients. x: (n, D)
        clean images; t (n,) levels and noise (n, D) fix the draw, else from rng."""
        t, noise = self._draw(x, t, noise, rng)
        self.zero_grad()
        return self._loss(x, t, noise, grad=True), self.grads

    def loss(self, x, *, t=None, noise=None, rng=None):
        """The loss of ``loss_and_grad`` by a forward pass only."""
        t, noise = self._draw(x, t, noise, rng)
        return self._loss(x, t, noise, grad=False)

    def level_loss(self, x, t, *, rng):
        """Eq. 14 at one level t for the rows of x, whatever the weighting: the
        mean over rows of ||eps - eps_theta||^2, a float; the noise is drawn
        from rng."""
        t = int(self._check_t(t, 1)[0])
        self._check_x(x, self.n_in)
        noise = rng.standard_normal(x.shape).astype(self.dtype)
        eps = self.predict_noise(self.diffuse(x, t, noise), t)
        return float(np.mean(np.sum((eps.astype(np.float64) - noise) ** 2, axis=1)))
