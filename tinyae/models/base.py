"""What every model shares: flat parameter names and ``loss_and_grad``."""

import numpy as np

from .._validation import check_array, check_rng


class Model:
    """Base class of every tinyae model, and the one statement of its contract.

    A subclass puts its layers in ``self.modules`` (an ordered dict name ->
    Layer; the names match the attributes, e.g. ``self.encoder``) and
    implements ``loss_and_grad`` and ``loss``. The base class then offers
    ``params`` / ``grads`` (flat dicts ``"encoder.0.W" -> array`` pointing at
    the very arrays the layers own, so in-place updates reach the layers),
    ``zero_grad()`` and ``n_params``.

    The contract of every model:

    * ``loss_and_grad(*data, rng=None, <noise>=None) -> (loss, grads)``:
      ``data`` is the batch (``x``, or ``x, c`` / ``x, y`` for conditional
      and supervised models), first axis the batch; ``loss`` a float, the
      sum over an example's dimensions and the mean over the batch;
      ``grads`` the dict ``grads`` (same keys and shapes as ``params``),
      cleared and filled by this call. Anything random (input corruption,
      the VAE's epsilon) is drawn from ``rng`` or, for a deterministic
      gradient check, passed in by name (``noise=``, ``eps=``).
    * ``loss(*data, rng=None, <noise>=None) -> float``: the same number by a
      forward pass only (validation and ``tinyae.train.evaluate`` use it).
    * ``last_stats``: a dict of the parts of the last loss (``recon``,
      ``kl``, ``penalty``...), which ``tinyae.train.fit`` averages per
      epoch into its history.

    Optional: a model whose loss is a mean of per-example terms says so
    (``_split_refusal`` returns None) and names what it draws from ``rng``
    (``_split_draws``); ``tinyae.parallel.DataParallel`` then runs its step
    on slices of the batch in several threads. Every other model is
    refused there, with the reason.
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
    def state(self):
        """Flat name -> array of everything else a model needs that is not a
        parameter (``Layer.buffers``: an EMA codebook and its counts, ...),
        updated in place like ``params``; checkpoints save and load it."""
        return {f"{m}.{k}": v for m, layer in self.modules.items()
                for k, v in layer.buffers.items()}

    @property
    def n_params(self):
        return int(sum(p.size for p in self.params.values()))

    def zero_grad(self):
        for layer in self.modules.values():
            layer.zero_grad()

    def _split_refusal(self, kwargs=None):
        """Why this model's ``loss_and_grad(..., **kwargs)`` cannot be run on
        slices of the batch and combined with the slices' weights
        (``tinyae.parallel.DataParallel``), or None if it can: its loss must
        be a mean of per-example terms that draw nothing from ``rng``.
        ``kwargs`` None asks about the model alone, before any call. A
        model that meets this says so by overriding; the default refuses."""
        return (f"{type(self).__name__} has not declared that its loss is a mean of "
                f"per-example terms with no random draws, which a split step needs")

    def _split_draws(self, data, kwargs, rng):
        """The per-example random inputs ``loss_and_grad(*data, rng=rng,
        **kwargs)`` would draw from ``rng`` (a dict of keyword -> array, the
        batch first), drawn here as that call draws them, so that a split
        step can hand each slice its share and the run is the unsplit one's.
        The default draws nothing."""
        return {}

    def loss_and_grad(self, *data, rng=None, **noise):
        raise NotImplementedError(f"{type(self).__name__} must implement loss_and_grad")

    def loss(self, *data, rng=None, **noise):
        raise NotImplementedError(f"{type(self).__name__} must implement loss "
                                  f"(a forward pass only)")

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


class SplitsOverExamples:
    """The ``DataParallel`` declarations of a model whose loss is a mean of
    per-example terms and whose one random input, if any, is a per-example
    array passed by the keyword ``_random_input`` (a corruption's
    ``noise``, a VAE's ``eps``, the MAE's ``mask``): mixed in before
    ``Model``. Only a class that sets ``_splits_batch = True`` in its own
    body splits; a subclass may add a term over the whole batch (a sparsity
    penalty on the mean code), so it refuses unless it says otherwise.

    A subclass that draws defines ``_draw_random(data, rng)`` (the whole
    batch's draw, made as its ``loss_and_grad`` makes it) and, if it draws
    only sometimes, ``_draws_random()``: ``SplitsWithEps`` (the VAEs),
    ``mlp.SplitsWithNoise`` (an autoencoder's corruption)."""

    _random_input = None

    def _draws_random(self):
        return self._random_input is not None

    def _split_refusal(self, kwargs=None):
        if not type(self).__dict__.get("_splits_batch", False):
            return Model._split_refusal(self, kwargs)
        name = self._random_input
        if kwargs is not None and self._draws_random() and kwargs.get(name) is None:
            return (f"its {name} is drawn from rng: pass rng (the {name} of the whole "
                    f"batch is drawn first, then sliced) or {name}=")
        return None

    def _split_draws(self, data, kwargs, rng):
        """The whole batch's random input, drawn as ``loss_and_grad`` draws it."""
        name = self._random_input
        if not self._draws_random() or kwargs.get(name) is not None:
            return {}
        return {name: self._draw_random(data, check_rng(rng))}


class SplitsWithEps(SplitsOverExamples):
    """``SplitsOverExamples`` for a VAE: its random input is ``eps``, one
    standard-normal row of ``n_code`` per example, drawn by ``draw_eps``."""

    _random_input = "eps"

    def _draw_random(self, data, rng):
        return draw_eps(None, rng, (np.shape(data[0])[0], self.n_code), self.dtype)


def draw_eps(eps, rng, shape, dtype):
    """A VAE's standard-normal draws: ``eps`` as given (checked: ``shape``,
    ``dtype``) or drawn from ``rng``; neither is an error naming both."""
    if eps is not None:
        return check_array(eps, "eps", ndim=len(shape), shape=shape, dtype=dtype)
    if rng is None:
        raise ValueError("pass rng (a numpy Generator) or eps: the VAE samples "
                         "z = mu + sigma * eps")
    return check_rng(rng).standard_normal(shape, dtype=dtype)


def batched(fn, x, batch_size=1000):
    """Apply ``fn`` to ``x`` in row chunks and stack the results (bounded memory)."""
    return np.concatenate([fn(x[i:i + batch_size])
                           for i in range(0, x.shape[0], batch_size)])
