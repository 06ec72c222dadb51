r"""Bounds on $\log p(x)$ for a latent-variable model: the ELBO and the
importance-weighted bounds of Burda et al. (2016).

With $z_1, \dots, z_k \sim q(z \mid x)$ and importance weights
$w_i = p(x, z_i) / q(z_i \mid x)$,

$$
\mathcal{L}_k(x) &= \mathbb{E}\Big[\log \frac{1}{k} \sum_{i=1}^k w_i\Big], \\
\mathrm{ELBO} = \mathcal{L}_1 &\le \mathcal{L}_k \le \mathcal{L}_{k+1} \le \log p(x),
$$

and $\mathcal{L}_k \to \log p(x)$ as $k$ grows, so ``iw_bound(x, k=5000)``
is the standard log-likelihood estimate. It is computed with a running
logsumexp over chunks of samples, so memory stays bounded whatever $k$ is.

``LatentBounds`` is a mixin: a model with a Gaussian
``encode(x, c) -> (mu, logvar)``, a ``decoder`` Sequential, ``_logp`` (from
``tinyae.distributions.LIKELIHOODS``) and the VAE's input plumbing gets
``log_px_given_z``, ``grad_log_px_given_z``, ``iw_bound`` and ``elbo``.
"""

import numpy as np

from ._validation import check_positive_int, check_rng
from .distributions import log_normal, log_standard_normal
from .functional import gaussian_kl, reparameterize

#: Default bound on the activations held at once by ``iw_bound``/``elbo``.
MEMORY_BUDGET_BYTES = 64 * 2**20


class LatentBounds:
    r"""$\log p(x \mid z)$, its $z$-gradient, and the bounds on $\log p(x)$ (see module)."""

    def log_px_given_z(self, x, z, c=None):
        r"""$\log p(x \mid z)$ summed over features: ``x: (batch, n_in)``,
        ``z: (batch, latent)`` -> ``(batch,)``.
        """
        c = self._check_data(x, c)
        self._check_x(z, self.n_code, "z")
        if z.shape[0] != x.shape[0]:
            raise ValueError(f"z must have one row per row of x ({x.shape[0]}), "
                             f"got shape {z.shape}")
        return self._logp(self, self._decode_out(z, c), x)

    def grad_log_px_given_z(self, x, z, c=None):
        r"""$\log p(x \mid z)$ and its gradient with respect to $z$, per row.

        ``x: (batch, n_in)``, ``z: (batch, n_code)`` -> ``(logp, dz)`` with
        ``logp: (batch,)`` and ``dz: (batch, latent)``,
        $\mathrm{dz}_n = \partial \log p(x_n \mid z_n) / \partial z_n$, obtained by
        running the decoder's backward pass on
        $\partial \log p / \partial\,\mathrm{output}$. This is the quantity the
        reparameterisation estimator averages: with $z = \mu + \sigma \odot \epsilon$,

        $$
        \frac{\partial}{\partial \mu} \mathbb{E}_q[\log p(x \mid z)] &= \mathbb{E}[\mathrm{dz}], \\
        \frac{\partial}{\partial\,\mathrm{logvar}} \mathbb{E}_q[\log p(x \mid z)] &= \mathbb{E}\Big[\mathrm{dz} \odot \frac{\epsilon \odot \sigma}{2}\Big].
        $$

        The decoder's parameter gradients are cleared afterwards.
        """
        c = self._check_data(x, c)
        self._check_x(z, self.n_code, "z")
        if z.shape[0] != x.shape[0]:
            raise ValueError(f"z must have one row per row of x ({x.shape[0]}), "
                             f"got shape {z.shape}")
        out = self.decoder.forward(self._cat(z, c))              # (batch, n_in)
        dz = self.decoder.backward(self._dlogp(self, out, x))[:, :self.n_code]
        self.decoder.zero_grad()
        return self._logp(self, out, x), dz

    # -- bounds on log p(x) -------------------------------------------------------
    def _rows_per_chunk(self, chunk):
        r"""Rows (sample, example pairs) decoded at once: ``chunk`` or what fits
        in ``MEMORY_BUDGET_BYTES`` (decoder activations + a few ``(rows, n_in)``
        temporaries for $\log p(x \mid z)$).
        """
        if chunk is not None:
            return check_positive_int(chunk, "chunk")
        per_row = (sum(self.decoder_hidden) + 5 * self.n_in + 4 * self.n_code
                   + self.n_cond) * self.dtype.itemsize
        return max(1, MEMORY_BUDGET_BYTES // per_row)

    def _log_weight_terms(self, x, c, k, *, rng, eps, chunk, post):
        r"""Yield ``(rows, log p(x|z), log p(z) - log q(z|x))`` for chunks.

        For example rows ``i0:i1`` and samples ``s0:s1`` the two arrays are
        ``(s1 - s0, i1 - i0)``, in float64; $z = \mu + \sigma \odot \epsilon$ with
        $\epsilon$ from ``eps`` ``(k, batch, n_code)`` or ``rng``, and
        ``post = (mu, logvar)`` the posterior of ``x, c`` (``encode``; the caller
        has checked both). At most ``chunk`` (sample, example) pairs are decoded at
        once.
        """
        k = check_positive_int(k, "k")
        n = x.shape[0]
        if eps is not None:
            self._check_eps(eps, (k, n, self.n_code))
        elif rng is None:
            raise ValueError("pass rng (a numpy Generator) or eps of shape "
                             f"({k}, {n}, {self.n_code})")
        else:
            check_rng(rng)
        rows = self._rows_per_chunk(chunk)
        s_chunk = min(k, rows)
        b_chunk = max(1, rows // s_chunk)
        mu, logvar = post                                            # (n, n_code)
        for i0 in range(0, n, b_chunk):
            i1 = min(n, i0 + b_chunk)
            xb, mb, lb = x[i0:i1], mu[i0:i1], logvar[i0:i1]
            cb = None if c is None else c[i0:i1]
            for s0 in range(0, k, s_chunk):
                s1 = min(k, s0 + s_chunk)
                shape = (s1 - s0, i1 - i0, self.n_code)
                e = (eps[s0:s1, i0:i1] if eps is not None
                     else rng.standard_normal(shape, dtype=self.dtype))
                z = reparameterize(mb, lb, e)[0]                     # (s, b, n_code)
                zc = z.reshape(-1, self.n_code)                      # (s*b, n_code)
                cc = None if cb is None else np.tile(cb, (s1 - s0, 1))
                out = self.decoder.forward(self._cat(zc, cc))        # (s*b, n_in)
                out = out.reshape(s1 - s0, i1 - i0, self.n_in)       # back to (s, b, n_in)
                logp_x = self._logp(self, out, xb).astype(np.float64)
                log_ratio = (log_standard_normal(z) - log_normal(z, mb, lb)
                             ).astype(np.float64)
                yield slice(i0, i1), logp_x, log_ratio

    def iw_bound(self, x, k, *, rng=None, c=None, eps=None, chunk=None):
        r"""Importance-weighted bound $\mathcal{L}_k$ per example (nats), Burda et al. (2016):

        $$
        \mathcal{L}_k(x) = \log \frac{1}{k} \sum_{i=1}^{k} \frac{p(x \mid z_i) \, p(z_i)}{q(z_i \mid x)}, \qquad
        z_i \sim q(z \mid x).
        $$

        With $\log w_i = \log p(x \mid z_i) + \log p(z_i) - \log q(z_i \mid x)$ it
        is evaluated as a logsumexp, $\log \sum_i w_i = t + \log \sum_i e^{\log w_i - t}$
        for any shift $t$, in float64 and one chunk at a time: with $t$ the largest
        $\log w$ seen so far and $s$ the running sum of $e^{\log w - t}$, a chunk
        with new maximum $t'$ updates

        $$
        s \leftarrow s \, e^{t - t'} + \sum_{i \in \text{chunk}} e^{\log w_i - t'}, \qquad t \leftarrow t',
        $$

        and $\mathcal{L}_k = t + \log s - \log k$. A chunk holds at most ``chunk``
        (sample, example) pairs (default: what fits in ``MEMORY_BUDGET_BYTES``), so
        $k = 5000$ needs no more memory than $k = 50$. ``x: (batch, n_in)`` ->
        ``(batch,)``. ``eps``: optional ``(k, batch, n_code)``. $\mathcal{L}_1$ is
        a one-sample ELBO; $\mathcal{L}_k$ increases with $k$ towards $\log p(x)$.
        """
        post = self.encode(x, c)                        # validates x and c
        n = x.shape[0]
        top = np.full(n, -np.inf)                       # running max of log w
        total = np.zeros(n)                             # sum exp(log w - top)
        for rows, logp_x, log_ratio in self._log_weight_terms(
                x, c, k, rng=rng, eps=eps, chunk=chunk, post=post):
            logw = logp_x + log_ratio                   # (s, b)
            new_top = np.maximum(top[rows], logw.max(axis=0))
            total[rows] = (total[rows] * np.exp(top[rows] - new_top)
                           + np.exp(logw - new_top).sum(axis=0))
            top[rows] = new_top
        return top + np.log(total) - np.log(k)

    def elbo(self, x, c=None, *, rng=None, eps=None, n_samples=1, chunk=None):
        r"""ELBO per example, with the KL in closed form:

        $$
        \mathrm{ELBO}(x) = \frac{1}{S} \sum_{s=1}^{S} \log p(x \mid z_s) - \mathrm{KL}\big(q(z \mid x) \,\|\, \mathcal{N}(0, I)\big),
        $$

        $S$ = ``n_samples`` draws $z_s \sim q$, or $S$ = ``eps.shape[0]`` when
        ``eps`` ``(S, batch, n_code)`` is given. ``x: (batch, n_in)`` ->
        ``(batch,)``. Its expectation is $\mathcal{L}_1 = \mathbb{E}[\texttt{iw\_bound}(k{=}1)]$.
        """
        if isinstance(eps, np.ndarray) and eps.ndim == 3:
            n_samples = eps.shape[0]
        mu, logvar = self.encode(x, c)                  # validates x and c
        rec = np.zeros(x.shape[0])
        for rows, logp_x, _ in self._log_weight_terms(
                x, c, n_samples, rng=rng, eps=eps, chunk=chunk, post=(mu, logvar)):
            rec[rows] += logp_x.sum(axis=0)
        return rec / n_samples - gaussian_kl(mu.astype(np.float64),
                                             logvar.astype(np.float64))
