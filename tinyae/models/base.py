"""What every model shares: flat parameter names and ``loss_and_grad``."""

import numpy as np

from .._validation import check_array


class Model:
    """Base class of every tinyae model.

    A subclass puts its layers in ``self.modules`` (an ordered dict name ->
    Layer) and implements ``loss_and_grad``. The base class then offers:

    * ``params`` / ``grads``: flat dicts ``"encoder.0.W" -> array`` pointing at
      the very arrays the layers own (so in-place updates reach the layers);
    * ``zero_grad()``;
    * ``loss(...)``: the loss alone, for validation;
    * ``last_stats``: the parts of the last loss (for example ``recon`` and
      ``kl``), which ``tinyae.train.fit`` averages per epoch into its history.

    ``loss_and_grad(x, ..., rng=None, <noise>=None)`` returns
    ``(loss, grads)``. Anything random it uses (input noise, the VAE's
    epsilon) is drawn from ``rng`` or, for a deterministic gradient check,
    passed in explicitly.
    """

    def __init__(self):
        self.modules = {}
        self.last_stats = {}

    @property
    def params(self):
        return {f"{m}.{k}": v for m, layer in self.modules.items()
                for k, v in layer.params.items()}

    @property
    def grads(self):
        return {f"{m}.{k}": v for m, layer in self.modules.items()
                for k, v in layer.grads.items()}

    @property
    def n_params(self):
        return int(sum(p.size for p in self.params.values()))

    def zero_grad(self):
        for layer in self.modules.values():
            layer.zero_grad()

    def loss_and_grad(self, x, **kwargs):
        raise NotImplementedError

    def loss(self, *args, **kwargs):
        """The loss alone (default: ``loss_and_grad`` without the grads)."""
        return self.loss_and_grad(*args, **kwargs)[0]

    def _check_x(self, x, shape, name="x"):
        """Check a batch against the shape of one example: ``shape`` is an
        int (a vector of that width) or a tuple such as ``(1, 28, 28)`` for
        an image model, so ``x`` must be ``(batch, *shape)``."""
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        return check_array(x, name, ndim=1 + len(shape), shape=(None, *shape),
                           dtype=self.dtype)

    def __repr__(self):
        inner = "\n".join(f"  ({m}): {layer!r}".replace("\n", "\n  ")
                          for m, layer in self.modules.items())
        return f"{type(self).__name__}(\n{inner}\n)  # {self.n_params} parameters"


def batched(fn, x, batch_size=1000):
    """Apply ``fn`` to ``x`` in row chunks and stack the results (bounded memory)."""
    return np.concatenate([fn(x[i:i + batch_size])
                           for i in range(0, x.shape[0], batch_size)])
