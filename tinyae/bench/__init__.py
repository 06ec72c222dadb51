"""Training-step benchmark: tinyae against the BLAS limit and PyTorch.

    python -m tinyae.bench                       # every config, float32 and float64
    python -m tinyae.bench --configs ae,vae --dtypes float32 --steps 100
    python -m tinyae.bench --threads 1 --json bench.json
    python -m tinyae.bench --tsne                # t-SNE against scikit-learn: tinyae.bench.tsne

Six configs, all on the MNIST training images in [0, 1], batch 128, Adam
(lr 1e-3), one optimiser step per batch (``CONFIGS`` below):

==== ======================================================================
ae   784-512(relu)-32 encoder, 32-512(relu)-784 decoder to logits; BCE
dae  ae with Gaussian input noise, sigma 0.5 (``MLPAutoencoder(corruption=GaussianNoise(0.5))``)
cae  784-512 sigmoid, 512-784 to logits; BCE + 0.1 * contractive penalty
sae  as cae with 3 * sum_j KL(0.05 || rho_hat_j) (``SparseAutoencoder``)
vae  784-512(relu) -> mu, logvar (20); 20-512(relu)-784 logits; BCE + KL
conv the PML book's CNN autoencoder (``models.conv.PML_BOOK_CNN``): three
     3x3 convolutions (16, 32, 64 channels) with ReLU and 2x2 max pooling to
     a (64, 3, 3) code, three stride-2 3x3 transposed convolutions back to
     (1, 28, 28) logits; BCE
mae  lesson 18's masked autoencoder (``MAE``): 7x7 patches (16 tokens), 75%
     hidden, encoder width 64 (1 block, 4 heads) on the 4 visible tokens,
     decoder width 32 (1 block, 4 heads) on all 16, MLP ratio 2, exact GELU,
     sin-cos positions; squared error on the hidden patches
==== ======================================================================

The FLOP count of ``mae`` covers its dense products (each on batch x tokens
rows) and its attention's batched products (``attention_matmuls``: per
example and head, the T x T scores q k^T and A v forward, and dA, dv, dq,
dk backward): the latter are 5% of the FLOPs (14 of 267 million) but, as batch x heads
BLAS calls of 16 x 8 x 16 or smaller, about a fifth of the time of the
products alone; they are matrix products the step cannot avoid, so the
BLAS-only step runs them too, as NumPy's batched BLAS runs them in the
batch-first layout of ``kernels.transformer.multihead_attention_forward``
(strided views of the packed qkv). The MAE itself no longer calls BLAS for
them: its blocks are token-major (``batch_first=False``), and
``multihead_attention_tm_forward`` computes scores, softmax and A v in
loops over the batch, faster than those calls (``docs/performance.md``,
MAE round nine). So for ``mae`` the BLAS-only time is the step's products
as BLAS would run them, no longer a time the step cannot beat.

Every row is one (config, dtype). Columns:

* ``split``: 1 for the step as written (one ``loss_and_grad`` on the
  batch, ``thr`` threads in OpenBLAS); N for the same step as
  ``tinyae.parallel.DataParallel`` over N workers, the batch split between
  them and one OpenBLAS thread each. At more than one thread each config
  whose model splits (``ae``, ``dae``, ``vae``, ``conv`` and ``mae``: a
  loss that is a mean of per-example terms; the noise, the VAE's eps and
  the masks are drawn for the whole batch, then sliced) gets both rows, the
  PyTorch columns of each measured in their own rounds (``--no-split``:
  the first only);
* ``tinyae/s``: samples per second of the library's own training step
  (``model.loss_and_grad`` then ``Adam.step``, as ``tinyae.train.fit``
  runs it) over ``--steps`` steps after ``--warmup`` steps; the best of
  ``--rounds`` rounds (the machine is shared: the best round is the one the
  least disturbed). ``first s``: the first step alone, i.e. Numba's compile
  or on-disk cache load plus one step, reported on its own;
* ``GFLOP/s``: the matrix-multiply FLOPs of one step (2 m k n for each
  product: forward, weight gradients, input gradients except the first
  layer's; for a convolution these are the im2col products, see
  ``step_matmuls``) times the steps per second;
* ``BLAS %``: time of those products alone (NumPy's BLAS on the same shapes;
  the dense and the attention products each timed in a loop of their own,
  the two times added: ``blas_only_step``) over the time of the step: 100%
  would mean the step is nothing but its matrix products, the limit for
  this step;
* ``fit +%``: what ``tinyae.train.fit`` adds around the steps (shuffled
  batches, progress bar, history, divergence checks: what a user runs), as
  a fraction of the time inside them: one epoch of ``--steps`` batches,
  its time over the time spent in its own ``loss_and_grad`` and
  ``Adam.step`` calls, minus 1 (both from the same epoch; the least of the
  rounds; target: within 5%);
* ``torch/s`` and ``x torch``: the same config written in PyTorch (same
  batches, same dtype, same thread count), and tinyae's speed-up over it.
  PyTorch runs in a process of its own (``TorchProcess``), its rounds
  alternating with tinyae's: in one process the two libraries' thread pools
  slow each other down. ``ceiling``: PyTorch's step time over the BLAS-only
  time, the speed-up tinyae would have if its step were nothing but its
  matrix products (on a machine where PyTorch's own GEMM beats NumPy's
  OpenBLAS, this can be below a target). Without PyTorch these columns say
  ``n/a (torch not installed)``.
* ``BLAS % rounds`` and ``x torch rounds``: the least and the largest of
  the same two ratios taken round by round (each round's BLAS-only time
  over that round's step, PyTorch's round over tinyae's), where the columns
  before them divide the best round of one by the best round of the other.
  The parts of a round run within a second or two of each other, so a
  round's ratio sees one state of a shared machine; the spread says how far
  a row moves on this machine from round to round, which is what a target
  near a row has to be judged against.

Threads: ``--threads N`` (default: every core) sets NumPy's OpenBLAS pool
(through its ``openblas_set_num_threads``), PyTorch's intra-op pool and
Numba's pool; ``--threads 2,1`` runs the whole table once per thread count.
On a machine shared with other jobs, 1 thread can beat 2: OpenBLAS threads
that wait for a busy core spin.

Reproducing the PyTorch columns. PyTorch is never a dependency of tinyae (only
the benchmark's PyTorch child process imports it, inside a try); install it
in a separate environment:

    python3 -m venv .torchvenv
    .torchvenv/bin/pip install torch==2.13.0 numpy scipy numba tqdm matplotlib
    .torchvenv/bin/pip install -e . --no-deps
    .torchvenv/bin/python -m tinyae.bench --json bench.json

(take the CPU wheel: on Linux pip picks ``torch-2.13.0+cpu`` when it is in
the local wheel folder, or pass ``--index-url`` of the CPU wheels; never the
CUDA build). ``--memory`` adds one full epoch per config and reports the
process's peak resident memory.
"""

import argparse
import contextlib
import json
import os
import resource
import sys
import time

import numpy as np

from .. import threads
from .._validation import arg_nonneg_int, arg_positive_int
from ..backend import get_backend
from .kit import ChildProcess, check_json_path, finish, format_rows, thread_counts
from .products import (BATCH, attention_matmuls, blas_only_step,  # noqa: F401
                       step_flops, step_matmuls, weight_shapes)
from ..corruption import GaussianNoise
from ..data import load_mnist
from ..models import (MAE, VAE, ContractiveAutoencoder, ConvAutoencoder, MLPAutoencoder,
                     SparseAutoencoder)
from ..models.conv import PML_BOOK_CNN
from ..optim import Adam
from ..parallel import DataParallel

#: seconds of idleness around each PyTorch round (``TorchProcess.time_steps``)
QUIET_S = 0.3
LR = 1e-3
CONFIG_NAMES = ("ae", "dae", "cae", "sae", "vae", "conv", "mae")
MNIST_TRAIN_ROWS = 60_000
TORCH_NA = "n/a (torch not installed)"


# --------------------------------------------------------------------------
# The configs in tinyae: model constructors and the matmul shapes of a step
# --------------------------------------------------------------------------

def _ae(rng, dtype):
    return MLPAutoencoder(sizes=(784, 512, 32), activation="relu",
                          code_activation="identity", likelihood="bernoulli", rng=rng,
                          dtype=dtype)


def _dae(rng, dtype):
    return MLPAutoencoder(corruption=GaussianNoise(0.5), sizes=(784, 512, 32),
                                activation="relu", code_activation="identity",
                                likelihood="bernoulli", rng=rng, dtype=dtype)


def _cae(rng, dtype):
    return ContractiveAutoencoder(sizes=(784, 512), lam=0.1, activation="sigmoid",
                                  likelihood="bernoulli", rng=rng, dtype=dtype)


def _sae(rng, dtype):
    return SparseAutoencoder(sizes=(784, 512), penalty="kl", rho=0.05, beta=3.0,
                             code_activation="sigmoid", likelihood="bernoulli", rng=rng,
                             dtype=dtype)


def _vae(rng, dtype):
    return VAE(sizes=(784, 512, 20), activation="relu",
               likelihood="bernoulli", rng=rng, dtype=dtype)


def _conv(rng, dtype):
    return ConvAutoencoder(**PML_BOOK_CNN, rng=rng, dtype=dtype)


def _mae(rng, dtype):
    return MAE(image_shape=(1, 28, 28), patch=7, dim=64, depth=1, n_heads=4, decoder_dim=32,
               decoder_depth=1, decoder_heads=4, mlp_ratio=2, mask_ratio=0.75,
               pos_embed="sincos", rng=rng, dtype=dtype)


_AE_LAYERS = [(784, 512), (512, 32), (32, 512), (512, 784)]
_ONE_LAYER = [(784, 512), (512, 784)]
_VAE_LAYERS = [(784, 512), (512, 20), (512, 20), (20, 512), (512, 784)]
#: (kind, C_in, C_out, kernel, input (H, W) of the layer) of the book's CNN.
_CONV_LAYERS = [("conv", 1, 16, 3, (28, 28)), ("conv", 16, 32, 3, (14, 14)),
                ("conv", 32, 64, 3, (7, 7)), ("convT", 64, 32, 3, (3, 3)),
                ("convT", 32, 16, 3, (7, 7)), ("convT", 16, 1, 3, (14, 14))]


def _block(dim, tokens, ratio=2, heads=4):
    """A transformer block's layers: the dense qkv, attention of ``heads``
    heads (no weights: ("attn", heads, dim, tokens)), the dense proj, fc1, fc2."""
    return [(dim, 3 * dim, tokens), ("attn", heads, dim, tokens), (dim, dim, tokens),
            (dim, ratio * dim, tokens), (ratio * dim, dim, tokens)]


#: The MAE's layers: dense (n_in, n_out, tokens per image) and attention.
#: The patch embedding reads all 16 patches (then the 4 visible are kept),
#: the encoder and decoder_embed see 4 tokens, the decoder and head all 16.
_MAE_LAYERS = ([(49, 64, 16)] + _block(64, 4) + [(64, 32, 4)] + _block(32, 16)
               + [(32, 49, 16)])

#: name -> (tinyae model constructor, layers in forward order: dense (n_in,
#: n_out), or (n_in, n_out, tokens per example) for a dense layer on tokens,
#: or image (kind, C_in, C_out, kernel, input (H, W)); the first one reads the
#: data, so its input gradient is not needed).
CONFIGS = {"ae": (_ae, _AE_LAYERS), "dae": (_dae, _AE_LAYERS), "cae": (_cae, _ONE_LAYER),
           "sae": (_sae, _ONE_LAYER), "vae": (_vae, _VAE_LAYERS),
           "conv": (_conv, _CONV_LAYERS), "mae": (_mae, _MAE_LAYERS)}


def tinyae_step(name, dtype, rng, workers=1):
    """(model, step(x)) for config ``name``: loss_and_grad then Adam.step;
    with ``workers`` > 1 the model is wrapped in
    ``tinyae.parallel.DataParallel`` (and that wrapper is returned)."""
    model = CONFIGS[name][0](rng, dtype)
    opt = Adam(model.params, lr=LR)
    if workers > 1:
        model = DataParallel(model, workers)
    image_shape = getattr(model, "image_shape", None)      # an image model takes NCHW

    def step(x):
        if image_shape is not None:
            x = x.reshape(-1, *image_shape)
        loss, grads = model.loss_and_grad(x, rng=rng)
        opt.step(grads)
        return loss
    step.optimizer = opt
    return model, step


def config_splits(name, dtype=np.float32):
    """Whether config ``name``'s step can run as ``DataParallel``: its loss a
    mean of per-example terms (``Model._split_refusal``), whatever it draws
    from ``rng`` drawn for the whole batch first (``Model._split_draws``)."""
    return CONFIGS[name][0](np.random.default_rng(0), dtype)._split_refusal(None) is None


# --------------------------------------------------------------------------
# The same configs in PyTorch (imported lazily, only here)
# --------------------------------------------------------------------------

def torch_step(name, dtype, seed):
    """step(x: numpy batch) for config ``name`` in PyTorch, or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    from torch import nn
    from torch.nn import functional as F

    torch.manual_seed(seed)
    tdtype = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}[
        np.dtype(dtype)]
    gen = torch.Generator().manual_seed(seed)

    def bce(logits, x):
        return F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]

    if name in ("ae", "dae"):
        net = nn.ModuleDict({
            "enc": nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 32)),
            "dec": nn.Sequential(nn.Linear(32, 512), nn.ReLU(), nn.Linear(512, 784))})

        def loss_fn(x):
            inp = x + 0.5 * torch.randn(x.shape, generator=gen, dtype=x.dtype) \
                if name == "dae" else x
            return bce(net["dec"](net["enc"](inp)), x)
    elif name in ("cae", "sae"):
        net = nn.ModuleDict({"enc": nn.Linear(784, 512), "dec": nn.Linear(512, 784)})

        def loss_fn(x):
            h = torch.sigmoid(net["enc"](x))
            recon = bce(net["dec"](h), x)
            if name == "cae":      # closed form: lam/N sum_nj (h(1-h))^2 sum_i W_ji^2
                d = h * (1 - h)
                c = (net["enc"].weight ** 2).sum(dim=1)
                return recon + 0.1 * ((d * d) @ c).sum() / x.shape[0]
            rho, rho_hat = 0.05, h.mean(dim=0)
            kl = (rho * torch.log(rho / rho_hat)
                  + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()
            return recon + 3.0 * kl
    elif name == "conv":   # PML_BOOK_CNN: padding 1 keeps the size, as "same"
        net = nn.ModuleDict({
            "enc": nn.Sequential(
                nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
            "dec": nn.Sequential(
                nn.ConvTranspose2d(64, 32, 3, stride=2), nn.ReLU(),
                nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1),
                nn.ReLU(),
                nn.ConvTranspose2d(16, 1, 3, stride=2, padding=1, output_padding=1))})

        def loss_fn(x):
            img = x.reshape(-1, 1, 28, 28)          # (batch, 784) rows as images
            return bce(net["dec"](net["enc"](img)), img)
    elif name == "mae":
        from ..functional.transformer import sincos_pos_embed
        t, keep = 16, 4

        def block(d):          # pre-norm, MLP 2d with exact GELU, as TransformerBlock
            return nn.TransformerEncoderLayer(d, 4, dim_feedforward=2 * d, dropout=0.0,
                                              activation="gelu", batch_first=True,
                                              norm_first=True)
        net = nn.ModuleDict({"embed": nn.Linear(49, 64), "enc": block(64),
                             "enc_norm": nn.LayerNorm(64), "dec_embed": nn.Linear(64, 32),
                             "dec": block(32), "dec_norm": nn.LayerNorm(32),
                             "head": nn.Linear(32, 49),
                             "mask": nn.ParameterDict({"token": nn.Parameter(torch.zeros(32))})})
        pos = {d: torch.from_numpy(sincos_pos_embed(d, 4, 4)).to(tdtype) for d in (64, 32)}

        def loss_fn(x):
            n = x.shape[0]
            patches = (x.reshape(n, 1, 4, 7, 4, 7).permute(0, 2, 4, 1, 3, 5)
                       .reshape(n, t, 49))                               # as patchify
            ids = torch.argsort(torch.rand(n, t, generator=gen), dim=1)[:, :keep]
            mask = torch.ones(n, t, dtype=x.dtype).scatter(1, ids, 0.0)  # 1 = hidden
            tokens = net["embed"](patches) + pos[64]
            h = net["enc_norm"](net["enc"](torch.gather(
                tokens, 1, ids[..., None].expand(-1, -1, 64))))
            d = net["dec_embed"](h)
            full = torch.zeros(n, t, 32, dtype=x.dtype).scatter(
                1, ids[..., None].expand(-1, -1, 32), d) + mask[..., None] * net["mask"]["token"]
            pred = net["head"](net["dec_norm"](net["dec"](full + pos[32])))
            return (((pred - patches) ** 2).sum(dim=-1) * mask).sum() / n
    else:
        net = nn.ModuleDict({"enc": nn.Linear(784, 512), "mu": nn.Linear(512, 20),
                             "logvar": nn.Linear(512, 20),
                             "dec": nn.Sequential(nn.Linear(20, 512), nn.ReLU(),
                                                  nn.Linear(512, 784))})

        def loss_fn(x):
            h = torch.relu(net["enc"](x))
            mu, logvar = net["mu"](h), net["logvar"](h)
            eps = torch.randn(mu.shape, generator=gen, dtype=x.dtype)
            z = mu + torch.exp(0.5 * logvar) * eps
            kl = 0.5 * (logvar.exp() + mu * mu - 1 - logvar).sum() / x.shape[0]
            return bce(net["dec"](z), x) + kl
    net.to(tdtype)
    opt = torch.optim.Adam(net.parameters(), lr=LR)

    def step(x):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(torch.from_numpy(x))
        loss.backward()
        opt.step()
        return loss.detach().item()
    return step


# --------------------------------------------------------------------------
# Threads
# --------------------------------------------------------------------------

def _torch_version():
    """PyTorch's version if it can be imported, else None (imports it: for
    the PyTorch child process only)."""
    try:
        import torch
    except ImportError:
        return None
    return torch.__version__


def _torch_available():
    """Whether ``import torch`` would find PyTorch, without importing it
    (the benchmark's own process never loads PyTorch's thread pools)."""
    if "torch" in sys.modules:
        return sys.modules["torch"] is not None
    from importlib.util import find_spec
    return find_spec("torch") is not None


def set_threads(n, *, torch=True):
    """Use ``n`` threads in NumPy's OpenBLAS and Numba
    (``tinyae.threads.set_threads``) and in PyTorch (if installed and
    ``torch``). Returns a dict saying which pools were set."""
    done = dict(threads.set_threads(n), torch=False)
    if torch and _torch_version() is not None:
        import torch as _torch
        _torch.set_num_threads(n)
        done["torch"] = True
    return done


# --------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------

def best_time(fn, *, repeat=5, number=1):
    """Best over ``repeat`` rounds of the mean time of ``number`` calls of
    ``fn()``, in seconds (the best round is the one least disturbed by other
    work on a shared machine)."""
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def _time_steps(step, batches):
    """Seconds to run ``step`` on each batch in turn."""
    start = time.perf_counter()
    for x in batches:
        step(x)
    return time.perf_counter() - start


def _batches(x, start, count):
    """``count`` consecutive batches of ``BATCH`` rows of x from batch
    number ``start`` on, wrapping around (the same batches in both
    processes)."""
    n_batches = x.shape[0] // BATCH
    return [x[(i % n_batches) * BATCH:(i % n_batches + 1) * BATCH]
            for i in range(start, start + count)]


class TorchProcess(ChildProcess):
    """The PyTorch twin of one config, run in its own process.

    In one process, PyTorch's thread pool and OpenBLAS's (and Numba's) slow
    each other: a PyTorch step measured in-process was 10-38% slower than
    in a process of its own. So PyTorch runs in a child
    (``python -m tinyae.bench --torch-worker``) that loads the same MNIST
    rows, sets the same thread count, and times the rounds the parent asks
    for over a pipe, one JSON line each way; the parent waits (idle) while
    the child runs, so the two do not compete for the cores (after the
    pause ``time_steps`` makes for OpenBLAS's spinning threads). ``start()``
    returns None when PyTorch cannot be imported by ``sys.executable``.
    """

    NAME = "PyTorch"

    @classmethod
    def start(cls, name, dtype, *, threads, limit, seed):
        worker = cls.spawn(["tinyae.bench", "--torch-worker"])
        ready = worker._ask({"config": name, "dtype": np.dtype(dtype).name,
                             "threads": threads, "limit": limit, "seed": seed})
        if not ready.get("torch"):
            worker.close()
            return None
        worker.version = ready["version"]
        return worker

    def time_steps(self, start, count):
        """Seconds for the child to run its step on batches start..start+count.

        First waits ``QUIET_S`` with the parent idle: OpenBLAS's worker
        threads spin for a while after their last product before they sleep
        (its THREAD_TIMEOUT, about 0.1 s here), and a round started while
        they spin shares the cores with them: PyTorch's MLP steps measured
        25-33% slower that way than in a process on its own."""
        time.sleep(QUIET_S)
        seconds = self._ask({"start": start, "count": count})["seconds"]
        time.sleep(QUIET_S)            # and PyTorch's threads, before tinyae's next round
        return seconds


def torch_worker(stdin=None, stdout=None):
    """The child side of ``TorchProcess``: a setup line, then one line per
    round ``{"start", "count"}`` answered by ``{"seconds"}``."""
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout

    def say(obj):
        stdout.write(json.dumps(obj) + "\n")
        stdout.flush()
    setup = json.loads(stdin.readline())
    if _torch_version() is None:
        return say({"torch": False})
    set_threads(setup["threads"])
    x = load_mnist("train", dtype=np.dtype(setup["dtype"]))[0]
    if setup["limit"] is not None:
        x = x[:setup["limit"]]
    step = torch_step(setup["config"], setup["dtype"], setup["seed"])
    say({"torch": True, "version": _torch_version()})
    for line in stdin:
        req = json.loads(line)
        say({"seconds": _time_steps(step, _batches(x, req["start"], req["count"]))})


def fit_epoch_time(model, optimizer, x, rng):
    """One ``tinyae.train.fit`` epoch over the rows of x (batches of
    ``BATCH``, shuffled, progress bar on: what a user runs): returns
    (seconds of the epoch, seconds spent inside its steps, i.e. in
    ``model.loss_and_grad`` and ``optimizer.step``). Their difference is
    what ``fit`` adds around the steps, measured in the same run, so the
    machine's noise between runs does not enter it. The bar writes to a
    null device here: its cost is counted but not shown."""
    from ..train import fit
    inside = [0.0]

    def timed(fn):
        def call(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                inside[0] += time.perf_counter() - start
        return call
    model.loss_and_grad = timed(model.loss_and_grad)     # shadows the method
    optimizer.step = timed(optimizer.step)
    try:
        with open(os.devnull, "w") as null, contextlib.redirect_stderr(null):
            history = fit(model, x, optimizer=optimizer, epochs=1, batch_size=BATCH,
                          rng=rng, progress=True)
    finally:
        del model.loss_and_grad, optimizer.step
    return history["seconds"][0], inside[0]


def bench_config(name, dtype, x, *, steps, warmup, rounds, threads=None, limit=None,
                 seed=0, use_torch=True, workers=1):
    """One row of the table: config ``name`` in ``dtype`` on the images ``x``
    (the first ``limit`` training rows, which the PyTorch child loads too);
    with ``workers`` > 1, tinyae's step is ``DataParallel`` over that many
    workers (one BLAS thread each)."""
    rng = np.random.default_rng(seed)
    layers = CONFIGS[name][1]
    model, step = tinyae_step(name, dtype, rng, workers)
    start = time.perf_counter()
    step(_batches(x, 0, 1)[0])
    first = time.perf_counter() - start
    _time_steps(step, _batches(x, 1, warmup))
    worker = None
    if use_torch:
        worker = TorchProcess.start(name, dtype, threads=threads, limit=limit, seed=seed)
    if worker is not None:
        worker.time_steps(0, warmup + 1)
    blas = blas_only_step(layers, dtype, rng)
    blas()
    n_fit = min(steps, x.shape[0] // BATCH)      # one fit epoch of n_fit full batches
    fit_x = x[:n_fit * BATCH]
    if getattr(model, "image_shape", None) is not None:
        fit_x = fit_x.reshape(-1, *model.image_shape)

    times = {"tinyae": [], "torch": [], "dense": [], "attention": [], "fit_overhead": []}
    try:
        for r in range(rounds):      # interleaved, so a burst of load hits all four
            at = 1 + warmup + r * steps
            times["tinyae"].append(_time_steps(step, _batches(x, at, steps)) / steps)
            if worker is not None:
                times["torch"].append(worker.time_steps(at, steps) / steps)
            for part in ("dense", "attention"):      # apart: ``blas_only_step``
                times[part].append(_time_steps(
                    lambda _x, f=getattr(blas, part): f(), range(steps)) / steps)
            epoch, inside = fit_epoch_time(model, step.optimizer, fit_x, rng)
            times["fit_overhead"].append(epoch / inside - 1)
    finally:
        if worker is not None:
            worker.close()

    flops = step_flops(layers)
    best = {k: min(v, default=np.inf) for k, v in times.items()}
    best["blas"] = best["dense"] + best["attention"]         # each part's best round
    times["blas"] = [d + a for d, a in zip(times["dense"], times["attention"])]
    row = {
        "config": name, "dtype": np.dtype(dtype).name, "batch": BATCH, "steps": steps,
        "rounds": rounds, "threads": threads, "workers": workers, "first_step_s": first,
        "tinyae_samples_per_s": BATCH / best["tinyae"],
        "step_ms": 1e3 * best["tinyae"],
        "gflops": flops / best["tinyae"] / 1e9,
        "blas_only_ms": 1e3 * best["blas"],
        "blas_gflops": flops / best["blas"] / 1e9,
        "blas_fraction": best["blas"] / best["tinyae"],
        "blas_fraction_rounds": _ratio_range(times["blas"], times["tinyae"]),
        "fit_overhead": best["fit_overhead"],
        "torch_samples_per_s": None, "speedup_vs_torch": None, "speedup_ceiling": None,
        "speedup_vs_torch_rounds": None,
    }
    if worker is not None:
        row["torch_version"] = worker.version
        row["torch_samples_per_s"] = BATCH / best["torch"]
        row["speedup_vs_torch"] = best["torch"] / best["tinyae"]
        row["speedup_ceiling"] = best["torch"] / best["blas"]
        row["speedup_vs_torch_rounds"] = _ratio_range(times["torch"], times["tinyae"])
    return row


def _ratio_range(top, bottom):
    """[least, largest] of top[r] / bottom[r] over the rounds r: the spread
    of a ratio whose two times were taken in the same round."""
    if len(top) != len(bottom) or not top:
        raise ValueError(f"one time of each per round expected, got {len(top)} and {len(bottom)}")
    ratios = [t / b for t, b in zip(top, bottom)]
    return [min(ratios), max(ratios)]


def epoch_peak_memory(name, dtype, x, seed=0):
    """Run one full epoch of ``name`` (every batch of x once); returns
    (seconds, peak resident memory of the process in MB so far)."""
    _, step = tinyae_step(name, dtype, np.random.default_rng(seed))
    start = time.perf_counter()
    for i in range(0, x.shape[0], BATCH):
        step(x[i:i + BATCH])
    return time.perf_counter() - start, resource.getrusage(
        resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------

COLUMNS = [("config", "config", "{}"), ("dtype", "dtype", "{}"), ("thr", "threads", "{}"),
           ("split", "workers", "{}"),
           ("tinyae/s", "tinyae_samples_per_s", "{:.0f}"), ("ms/step", "step_ms", "{:.2f}"),
           ("GFLOP/s", "gflops", "{:.1f}"), ("BLAS %", "blas_fraction", "{:.0%}"),
           ("BLAS % rounds", "blas_fraction_rounds", "{0[0]:.0%}-{0[1]:.0%}"),
           ("fit +%", "fit_overhead", "{:+.1%}"), ("first s", "first_step_s", "{:.2f}"),
           ("torch/s", "torch_samples_per_s", "{:.0f}"), ("x torch", "speedup_vs_torch", "{:.2f}"),
           ("x torch rounds", "speedup_vs_torch_rounds", "{0[0]:.2f}-{0[1]:.2f}"),
           ("ceiling", "speedup_ceiling", "{:.2f}")]


def format_table(rows, na=TORCH_NA):
    """The rows as an aligned text table (a missing torch number -> ``na``)."""
    return format_rows(rows, COLUMNS, na)


def _parse(argv, prog="python -m tinyae.bench"):
    p = argparse.ArgumentParser(prog=prog, description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", default=str(os.cpu_count() or 1),
                   help="threads for OpenBLAS, PyTorch and Numba, or a comma-separated "
                        "list such as 2,1 (a block of rows each; default: all cores)")
    p.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--steps", type=arg_positive_int, default=60, help="timed steps per round (default 60)")
    p.add_argument("--warmup", type=arg_nonneg_int, default=5, help="untimed steps first (default 5)")
    p.add_argument("--rounds", type=arg_positive_int, default=3,
                   help="rounds per implementation; the best is kept (default 3)")
    p.add_argument("--configs", default=",".join(CONFIG_NAMES),
                   help=f"comma-separated subset of {','.join(CONFIG_NAMES)}")
    p.add_argument("--dtypes", default="float32,float64", help="float32,float64 or one")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the rows as JSON")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch columns")
    p.add_argument("--no-split", action="store_true",
                   help="no DataParallel rows (see the split column)")
    p.add_argument("--memory", action="store_true",
                   help="also run one full epoch per config and report peak memory")
    p.add_argument("--limit", type=arg_positive_int, default=None,
                   help=f"use only the first N training images, {BATCH} <= N <= "
                        f"{MNIST_TRAIN_ROWS} (tests)")
    args = p.parse_args(argv)
    args.configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    for c in args.configs:
        if c not in CONFIGS:
            p.error(f"--configs: unknown config {c!r}; choose from {', '.join(CONFIG_NAMES)}")
    args.threads = thread_counts(p, args.threads)
    args.dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    for d in args.dtypes:
        if d not in ("float32", "float64"):
            p.error(f"--dtypes: expected float32 and/or float64, got {d!r}")
    if args.limit is not None and not BATCH <= args.limit <= MNIST_TRAIN_ROWS:
        p.error(f"argument --limit: expected {BATCH} <= N <= {MNIST_TRAIN_ROWS} (one "
                f"batch of {BATCH} up to the training set), got {args.limit}")
    check_json_path(p, args.json)
    return args


def run(argv=None, out=None, prog="python -m tinyae.bench"):
    """Run the benchmark from command-line arguments (``out``: a text file,
    default sys.stdout); returns the result dict (rows, memory, settings)."""
    out = out or sys.stdout
    if "--tsne" in (sys.argv[1:] if argv is None else argv):  # a benchmark of its own
        from .tsne import run as run_tsne
        return run_tsne(argv, out, prog=f"{prog} --tsne")
    args = _parse(argv, prog)
    if args.torch_worker:
        return torch_worker()
    if get_backend() != "numba":
        print(f"note: backend is {get_backend()!r}; benchmarking the NumPy reference",
              file=out)
    use_torch = not args.no_torch and _torch_available()
    na = "n/a (--no-torch)" if args.no_torch else TORCH_NA
    load = os.getloadavg()
    print(f"tinyae.bench: batch {BATCH}, Adam lr {LR}, {args.steps} steps x {args.rounds} "
          f"rounds after {args.warmup} warm-up; threads {','.join(map(str, args.threads))}; "
          f"PyTorch {'in its own process' if use_torch else 'not run'}; load average "
          f"{load[0]:.2f}", file=out, flush=True)
    rows, memory, pools, torch_version = [], [], {}, None
    for n_threads in args.threads:
        pools = set_threads(n_threads, torch=False)
        for dname in args.dtypes:
            dtype = np.dtype(dname)
            x = load_mnist("train", dtype=dtype)[0]
            if args.limit is not None:
                x = x[:args.limit]
            for name in args.configs:
                split = n_threads > 1 and not args.no_split and config_splits(name, dtype)
                for workers in (1, n_threads) if split else (1,):
                    row = bench_config(name, dtype, x, steps=args.steps, warmup=args.warmup,
                                       rounds=args.rounds, threads=n_threads,
                                       limit=args.limit, use_torch=use_torch,
                                       workers=workers)
                    torch_version = row.pop("torch_version", None) or torch_version
                    rows.append(row)
                    how = f", split over {workers} workers" if workers > 1 else ""
                    print(f"  {name} {dname} {n_threads} thread(s){how}: "
                          f"{row['tinyae_samples_per_s']:.0f} samples/s", file=out, flush=True)
            if args.memory and n_threads == args.threads[0]:
                for name in args.configs:
                    seconds, peak = epoch_peak_memory(name, dtype, x)
                    memory.append({"config": name, "dtype": dname, "epoch_s": seconds,
                                   "peak_rss_mb": peak})
            del x
    print(file=out)
    print(format_table(rows, na), file=out)
    if torch_version is not None:
        print(f"\nPyTorch {torch_version}, each config in a process of its own", file=out)
    elif not args.no_torch:
        print(f"\ntorch columns: {na}; see the module docstring to install PyTorch "
              "in a separate venv", file=out)
    for m in memory:
        print(f"full epoch {m['config']} {m['dtype']}: {m['epoch_s']:.1f} s, peak RSS so far "
              f"{m['peak_rss_mb']:.0f} MB", file=out)
    return finish({"rows": rows, "memory": memory, "threads": args.threads,
                   "thread_pools_set": dict(pools, torch=torch_version is not None),
                   "torch": torch_version, "loadavg_before": load, "backend": get_backend()},
                  args.json, out)

