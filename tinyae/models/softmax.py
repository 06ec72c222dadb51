"""Softmax classifier: multinomial logistic regression, optionally with hidden
layers (an MLP), trained by cross-entropy with a hand-written gradient.

It is the yardstick for learned codes: "how linearly separable are the
classes in this representation?" is answered by training this classifier on
the codes (lesson 08), and the conditional VAE (lesson 07) uses it to judge
whether generated digits carry the requested label.

The loss (see ``softmax_cross_entropy``) for logits ``a = net(x)``:

    p = softmax(a),   L = -(1/N) sum_n log p[n, y_n]  (+ (wd/2) sum_l ||W_l||^2),
    dL/da = (p - onehot(y)) / N.
"""

import numbers

import numpy as np

from .._validation import (check_choice, check_dtype, check_nonneg_float,
                           check_positive_int, check_rng)
from ..layers import ACTIVATIONS, INITS, Linear, dense_stack
from ..losses import check_scale
from .base import Model, batched


# --------------------------------------------------------------------------
# Pure functions (the reference a student reads)
# --------------------------------------------------------------------------

def log_softmax(logits):
    """Row-wise ``log softmax(a)[n, k] = a[n, k] - log sum_j exp(a[n, j])``.

    logits: (batch, K) -> (batch, K). Stable for any finite logits: with
    ``m_n = max_j a[n, j]``,

        log softmax(a)[n, k] = (a[n, k] - m_n) - log sum_j exp(a[n, j] - m_n),

    where every exponent is <= 0 and the sum is >= 1 (the max term is
    exp(0) = 1), so nothing overflows and the log never sees 0.
    """
    shifted = logits - logits.max(axis=1, keepdims=True)      # (batch, K), <= 0
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(logits):
    """Row-wise ``softmax(a)[n, k] = exp(a[n, k]) / sum_j exp(a[n, j])``,
    computed as ``exp(log_softmax(a))``. logits: (batch, K) -> (batch, K)."""
    return np.exp(log_softmax(logits))


def softmax_cross_entropy(logits, labels):
    """Cross-entropy of integer labels under softmax(logits), mean over the batch.

    logits: (batch, K) float; labels: (batch,) ints in [0, K).
    Returns ``(loss, dlogits)`` with dlogits: (batch, K) in logits' dtype.

        L = -(1/N) sum_n log softmax(a)[n, y_n]
          = (1/N) sum_n [ log sum_j exp(a[n, j]) - a[n, y_n] ].

    Derivative: d/da[n, k] of ``log sum_j exp(a[n, j])`` is ``p[n, k]`` (the
    softmax) and of ``a[n, y_n]`` is ``[k = y_n]``, so

        dL/da[n, k] = (p[n, k] - onehot(y)[n, k]) / N.

    Each row of dlogits sums to zero: adding a constant to a row of logits
    changes nothing. No validation here (see ``SoftmaxClassifier``).
    """
    n = logits.shape[0]
    logp = log_softmax(logits)                                 # (batch, K)
    rows = np.arange(n)
    loss = -float(logp[rows, labels].sum()) / n
    dlogits = np.exp(logp)                                     # p: (batch, K)
    dlogits[rows, labels] -= 1.0                               # p - onehot
    dlogits /= n
    return loss, dlogits.astype(logits.dtype, copy=False)


def check_labels(y, n_classes, *, n_rows=None, name="y"):
    """Validate integer class labels: a 1-D integer numpy array with values
    in [0, n_classes) (and ``n_rows`` entries if given). Returns y."""
    if not isinstance(y, np.ndarray):
        raise TypeError(
            f"{name} must be a numpy array of integer class labels, got "
            f"{type(y).__name__}")
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(
            f"{name} must hold integer class labels in [0, {n_classes}) (e.g. "
            f"dtype int64), got dtype {y.dtype}; one-hot rows are not accepted")
    if y.ndim != 1 or (n_rows is not None and y.shape[0] != n_rows):
        want = f"({n_rows},)" if n_rows is not None else "(batch,)"
        raise ValueError(f"{name} must have shape {want} (one label per row of x), "
                         f"got {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(
            f"{name} must hold class labels in [0, {n_classes}), got values in "
            f"[{y.min()}, {y.max()}]")
    return y


# --------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------

class SoftmaxClassifier(Model):
    """Softmax regression ``x -> logits -> p(y | x)``, with optional hidden layers.

    x: (batch, n_in) -> logits: (batch, n_classes). ``hidden=()`` is plain
    multinomial logistic regression (one Linear); ``hidden=(h1, h2, ...)``
    inserts Linear + ``activation`` blocks. Parameter names: ``net.<i>.W``,
    ``net.<i>.b`` (activations take the odd indices).

    Loss: mean cross-entropy plus, if ``weight_decay`` > 0, the L2 penalty
    ``(wd / 2) sum_l ||W_l||^2`` on the weights (not the biases), whose
    gradient ``wd W_l`` is added to ``dW_l``. ``last_stats`` holds ``xent``
    (the cross-entropy alone) and ``acc`` (accuracy on the batch).

    Trains with ``tinyae.train.fit(model, (x, y), ...)``: y is an int array
    (n,) of labels in [0, n_classes).
    """

    def __init__(self, *, n_in, n_classes, rng, hidden=(), activation="relu",
                 weight_decay=0.0, init="glorot", dtype=np.float64):
        super().__init__()
        self.n_in = check_positive_int(n_in, "n_in")
        self.n_classes = check_positive_int(n_classes, "n_classes")
        if self.n_classes < 2:
            raise ValueError(f"n_classes must be at least 2, got {n_classes!r}")
        if isinstance(hidden, numbers.Integral):
            raise TypeError(f"hidden must be a tuple of layer widths, e.g. "
                            f"({hidden},), got {hidden!r}")
        self.hidden = tuple(hidden)
        for i, h in enumerate(self.hidden):
            check_positive_int(h, f"hidden[{i}]")
        check_rng(rng)
        self.activation = check_choice(activation, "activation", ACTIVATIONS)
        self.weight_decay = check_nonneg_float(weight_decay, "weight_decay")
        self.init = check_choice(init, "init", INITS)
        self.dtype = check_dtype(dtype)

        sizes = (self.n_in,) + self.hidden + (self.n_classes,)
        self.net = dense_stack(sizes, self.activation, rng=rng, init=init, dtype=self.dtype)
        self.modules = {"net": self.net}
        self._linears = [layer for layer in self.net.layers if isinstance(layer, Linear)]

    # -- inference ---------------------------------------------------------
    def logits(self, x):
        """x: (batch, n_in) -> logits: (batch, n_classes)."""
        self._check_x(x, self.n_in)
        return batched(self.net.forward, x)

    def predict_proba(self, x):
        """x: (batch, n_in) -> p(y | x): (batch, n_classes), rows sum to 1."""
        return softmax(self.logits(x))

    def predict(self, x):
        """x: (batch, n_in) -> most probable class: (batch,) int64."""
        return self.logits(x).argmax(axis=1)

    def accuracy(self, x, y):
        """Fraction of rows of x whose predicted class equals y (batch,)."""
        pred = self.predict(x)                                 # validates x: (batch,)
        check_labels(y, self.n_classes, n_rows=pred.shape[0])
        return float(np.mean(pred == y))

    # -- training ----------------------------------------------------------
    def loss_and_grad(self, x, y, *, rng=None):
        """Cross-entropy (+ weight decay) of labels y given x, and its gradient.

        x: (batch, n_in); y: (batch,) int labels in [0, n_classes).
        Returns (loss, grads) with grads the flat dict of this model.
        ``rng`` is unused (the classifier is deterministic).
        """
        logits = self._forward(x, y)                            # (batch, K)
        self.zero_grad()
        xent, dlogits = softmax_cross_entropy(logits, y)
        self.net.backward(dlogits, need_dx=False)              # dL/dx: x is data
        if self.weight_decay:
            for lin in self._linears:
                lin.grads["W"] += self.weight_decay * lin.params["W"]
        return self._finish(xent, logits, y), self.grads

    def loss(self, x, y, *, rng=None):
        """The loss of ``loss_and_grad`` by a forward pass only."""
        logits = self._forward(x, y)
        return self._finish(softmax_cross_entropy(logits, y)[0], logits, y)

    def _forward(self, x, y):
        """Validated logits: x (batch, n_in), y (batch,) -> (batch, K)."""
        check_scale(self._check_x(x, self.n_in))
        check_labels(y, self.n_classes, n_rows=x.shape[0])
        return self.net.forward(x)

    def _finish(self, xent, logits, y):
        """The loss (cross-entropy + 0.5 wd ||W||^2) and ``last_stats``."""
        loss = xent
        if self.weight_decay:
            for lin in self._linears:
                W = lin.params["W"]
                loss += 0.5 * self.weight_decay * float(np.sum(W * W))
        self.last_stats = {"xent": xent,
                           "acc": float(np.mean(logits.argmax(axis=1) == y))}
        return loss


def linear_probe(f_train, y_train, f_test, y_test, *, rng, epochs=5, lr=1e-3,
                 batch_size=128, progress=False):
    """Test accuracy of a linear read-out of a representation: the question
    "how linearly separable are the classes in these features?".

    Features f_train: (n, k), f_test: (m, k), labels (n,), (m,) ints.
    Each feature is standardised with the training mean and standard
    deviation (+ 1e-2, so constant features stay finite), then a
    ``SoftmaxClassifier`` with no hidden layer is fitted by Adam.
    """
    from ..optim import Adam
    from ..train import fit
    mean, std = f_train.mean(axis=0), f_train.std(axis=0) + 1e-2   # train statistics only
    f_train, f_test = (f_train - mean) / std, (f_test - mean) / std
    n_classes = int(max(y_train.max(), y_test.max())) + 1
    clf = SoftmaxClassifier(n_in=f_train.shape[1], n_classes=n_classes, rng=rng,
                            dtype=f_train.dtype)
    fit(clf, (f_train, y_train), optimizer=Adam(clf.params, lr=lr), epochs=epochs,
        batch_size=batch_size, rng=rng, progress=progress)
    return clf.accuracy(f_test, y_test)
