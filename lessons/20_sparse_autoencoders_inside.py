"""Lesson 20: sparse autoencoders that find features inside a trained network."""

# %% [markdown]
# # Lesson 20: sparse autoencoders inside a trained network
#
# **You will learn** how the sparse autoencoder of lesson 05, made overcomplete and
# trained on the *hidden activations of another network*, becomes a tool for reading
# that network: it rewrites each activation vector as a sparse sum of directions
# ("features") taken from a learned dictionary. You will derive the gradient of the
# **top-k activation** (keep the $k$ largest pre-activations of each example, zero the
# rest), compare it with the L1 penalty on the sparsity-fidelity frontier, watch latents
# die and bring them back by resampling, and measure whether the features mean more than
# the network's own neurons: how pure in digit class each feature's top-activating
# inputs are.
#
# **It assumes** lesson 05 (sparse autoencoders, the L1 penalty), lesson 14 (the digit
# classifier whose activations we study), lesson 16 (dictionaries with unit-norm atoms)
# and lesson 00 (gradient checking).

# %%
import numpy as np

from tinyae.backend import ops
from tinyae.course.judge import digit_judge
from tinyae.course.lesson import Lesson
from tinyae.course.plotting import xy_curves
from tinyae.course.plotting.features import top_activating
from tinyae.data import load_mnist
from tinyae.gradcheck import check_model
from tinyae.layers import Linear, ReLU, Sequential, TopK, UnitNormDictionary
from tinyae.optim import Adam

N_LATENTS, BATCH, LR = 800, 256, 3e-3               # 200 -> 800 -> 200: 4x overcomplete
KS = (8, 16, 32)                                     # top-k sparsities
LAMS = (2.0, 3.0, 5.0, 8.0)                          # L1 weights (activations scaled below)
K_READ, N_TOP, RESAMPLE_SCALE = 16, 20, 0.5

lesson = Lesson("20_sparse_autoencoders_inside", __doc__, epochs=4, full_epochs=10)
rng = lesson.rng

# %% [markdown]
# ## 1. The activations of a network the course trained
#
# Lesson 14's judge is a softmax classifier 784-200-10 with one hidden layer of ReLU
# units, $a = \max(0, x W_1 + b_1) \in \mathbb{R}^{200}$, trained on the 60,000 MNIST
# training digits (`tinyae.course.judge.digit_judge`, a few seconds). Its 200 numbers per
# digit are what we want to read. A single unit is a poor unit of meaning: the cell
# below finds a hidden unit on for **59.5**% of the test digits on average, and
# **64**% of the units on for more than half of them, digits of every class. The *superposition* hypothesis (Elhage et al., 2022) says a network represents
# more features than it has neurons, each a direction in activation space rather than
# one unit, and each active on few inputs. If so, a sparse code over an overcomplete
# dictionary of directions should find them.
#
# We centre the activations with the training mean $\mu$ and divide by one scale $s$
# such that $\frac1N \sum_n \|\bar a_n\|^2 = 200$ (one unit of variance per dimension on
# average): $\bar a = (a - \mu)/s$. The scale fixes the meaning of the L1 weights below.

# %%
def hidden(clf, x):
    """The classifier's hidden layer: x (N, 784) -> a = ReLU(x W1 + b1), (N, 200)."""
    return clf.net[1].forward(clf.net[0].forward(x))


# %%
clf = digit_judge(lesson.seed)
x_all, _ = load_mnist("train", dtype=np.float32)
x_test, y_test = load_mnist("test", dtype=np.float32)
a_train, a_test = hidden(clf, x_all), hidden(clf, x_test)
mu = a_train.mean(axis=0)
s = np.sqrt(np.mean(np.sum((a_train - mu) ** 2, axis=1)) / a_train.shape[1])
n_train = len(a_train) if lesson.full else 20_000
acts_train = ((a_train - mu) / s)[rng.permutation(len(a_train))[:n_train]]   # (n_train, 200)
acts_test = (a_test - mu) / s                                               # (10000, 200)
on = a_test > 0
lesson.report(f"classifier test accuracy {clf.accuracy(x_test, y_test):.4f}; a hidden "
              f"unit is on for {100 * on.mean():.1f}% of test digits on average, and "
              f"{np.mean(on.mean(axis=0) > 0.5) * 100:.0f}% of units for more than half")

# %% [markdown]
# ## 2. The sparse autoencoder
#
# The sparse autoencoder of Bricken et al. (2023) has one hidden layer of $m = 800$
# latents, four times the width of its input, and a linear decoder $D$ ($m \times 200$)
# whose rows $d_j$, the *dictionary*, have unit length:
#
# $$
# h = \sigma(\bar a W_e + b_e) \in \mathbb{R}^{m}, \qquad
# \hat a = h D = \sum_{j} h_j d_j, \qquad \|d_j\| = 1 .
# $$
#
# Each latent $j$ is a feature: its decoder row $d_j$ is the direction it writes, $h_j
# \ge 0$ how much. Why unit norm: with a free decoder the L1 penalty below could be
# dodged by scaling $h$ down and $D$ up, the argument of lessons 04 and 16;
# `UnitNormDictionary` normalises inside the layer, so the gradient is projected onto the
# sphere (its docstring derives it). Two ways to make $h$ sparse:
#
# * **L1**: $\sigma = \mathrm{ReLU}$ and the loss
#   $\mathcal L = \frac1N \sum_n \|\bar a_n - \hat a_n\|^2 + \lambda \frac1N \sum_n
#   \|h_n\|_1$. For $h \ge 0$, $\|h\|_1 = \sum_j h_j$, so its gradient is $\lambda / N$
#   on every active latent (lesson 05), pulling all of them towards zero at the same rate:
#   it shrinks the codes it keeps, not only the ones it switches off.
# * **Top-k** (Makhzani and Frey, 2013; Gao et al., 2024): $\sigma = \mathrm{ReLU} \circ
#   \mathrm{TopK}_k$, the loss is the squared error alone, and sparsity is built in:
#   exactly $k$ latents (at most, after the ReLU) are on for every input.
#
# We measure fidelity by the **fraction of variance unexplained** and sparsity by
# **L0**, the mean number of active latents, both on the 10,000 test digits:
#
# $$
# \mathrm{FVU} = \frac{\sum_n \|\bar a_n - \hat a_n\|^2}{\sum_n \|\bar a_n - \bar{a}_{\mathrm{mean}}\|^2},
# \qquad
# L_0 = \frac1N \sum_n \#\{j : h_{nj} > 0\} .
# $$
#
# Following Gao et al., the encoder starts as the transpose of the decoder, $W_e =
# D^\top$, and $b_e = 0$.

# %%
class SparseAE:
    """a: (N, n_in) -> h: (N, m) -> a_hat = h D: (N, n_in). k: top-k codes
    (ReLU after TopK); else ReLU codes with an L1 penalty lam on h."""

    def __init__(self, n_in, m, *, rng, k=None, lam=0.0, dtype=np.float32):
        self.enc = Linear(n_in, m, rng=rng, dtype=dtype)
        self.act = Sequential(TopK(k), ReLU()) if k else ReLU()
        self.dec = UnitNormDictionary(m, n_in, rng=rng, dtype=dtype)
        self.enc.params["W"][...] = self.dec.D.T             # W_e = D^T: (n_in, m)
        self.enc.params["b"][...] = 0
        self.k, self.lam, self.dtype = k, lam, np.dtype(dtype).type
        self.params = {"enc.W": self.enc.params["W"], "enc.b": self.enc.params["b"],
                       "dec.V": self.dec.params["V"]}

    def encode(self, a):
        return self.act.forward(self.enc.forward(a))

    def loss_and_grad(self, a):
        self.enc.zero_grad()
        self.dec.zero_grad()
        h = self.encode(a)                                    # (N, m), >= 0
        mse, da_hat = ops.mse_loss(self.dec.forward(h), a)    # sum over dims, mean over N
        dh = self.dec.backward(da_hat) + self.dtype(self.lam / len(a))   # + d(lam|h|_1)/dh
        self.enc.backward(self.act.backward(dh), need_dx=False)  # ReLU masks h = 0
        grads = {"enc.W": self.enc.grads["W"], "enc.b": self.enc.grads["b"],
                 "dec.V": self.dec.grads["V"]}
        return mse + self.lam * float(h.sum()) / len(a), grads


# %% [markdown]
# Every gradient in it is a layer's: the new one is `TopK`'s, derived in the next
# section. Before trusting the model, a finite-difference check of its whole loss in
# float64, on a small one (6 inputs, 10 latents), for both kinds:

# %%
for kind in (dict(k=3), dict(lam=0.7)):
    small = SparseAE(6, 10, rng=np.random.default_rng(1), dtype=np.float64, **kind)
    report = check_model(small, np.random.default_rng(2).standard_normal((5, 6)))
    lesson.report(f"gradient check of SparseAE({kind}): worst relative error "
                  f"{report.worst:.1e}")
    lesson.claim(f"SparseAE {kind}: gradient check, worst relative error (tinyae's "
                 f"gradcheck tolerance)", report.worst, lt=1e-7)

# %% [markdown]
# ## 3. The top-k activation and its gradient
#
# For one example with pre-activations $z \in \mathbb{R}^m$, let $S(z)$ be the indices of
# its $k$ largest entries (ties to the lower index, so that $|S| = k$). The activation is
#
# $$
# \mathrm{TopK}_k(z)_i = z_i \, [i \in S(z)] .
# $$
#
# $S(z)$ only changes when the $k$-th and $(k+1)$-th largest entries trade places, at a
# tie. Away from ties a small move of $z$ leaves $S$ as it is, so near $z$ the map is
# linear, $\mathrm{out}_i = z_i [i \in S]$, with Jacobian
# $\partial \mathrm{out}_i / \partial z_j = [i = j][i \in S]$, and the chain rule gives
#
# $$
# \frac{\partial L}{\partial z_j} = \sum_i \frac{\partial L}{\partial \mathrm{out}_i}
# \frac{\partial \mathrm{out}_i}{\partial z_j}
# = \frac{\partial L}{\partial \mathrm{out}_j}\, [j \in S(z)] .
# $$
#
# A mask, like ReLU's, but the mask of the $k$ winners instead of the positive entries.
# Two consequences. A finite-difference check must keep every input further from a tie
# than its step (the registered checks use rows of distinct, evenly spaced values:
# `python -m tinyae.gradcheck -k TopK`). And a latent outside $S$ gets *no* gradient,
# however close it came: a latent that never wins never learns and stays dead
# (section 5). `tinyae.functional.topk_forward` is the NumPy reference (a stable sort);
# its Numba twin finds the $k$-th largest value by a partial sort and keeps everything
# above it in one pass. On one example:

# %%
z = np.array([[0.3, -1.2, 2.0, 0.9, 0.9, -0.1]])
out, mask = ops.topk_forward(z, 3)
lesson.report(f"z = {z[0].tolist()}: TopK_3(z) = {out[0].tolist()}, gradient mask "
              f"{mask[0].astype(int).tolist()} (the tie 0.9 = 0.9 both win here)")

# %% [markdown]
# ## 4. The sparsity-fidelity frontier
#
# We train three top-k autoencoders ($k$ = 8, 16, 32) and four L1 ones ($\lambda$ = 2,
# 3, 5, 8) on the activations of 20,000 training digits (all 60,000 with `--full`), 4
# epochs of Adam (learning rate 3e-3, batches of 256), and measure L0 and FVU on the
# test digits. `train` below is the whole training loop; its `resample` branch is
# section 5's.

# %%
def resample_dead(sae, opt, data, rng, n_check=8192):
    """Re-initialise the latents that never fire on n_check training inputs:
    towards inputs drawn with probability ~ squared error^2 (Bricken et al.)."""
    xs = data[rng.choice(len(data), n_check, replace=False)]       # (n_check, n_in)
    fired = sae.encode(xs).max(axis=0) > 0                          # (m,)
    dead = np.flatnonzero(~fired)
    if len(dead):
        err = np.sum((xs - sae.dec.forward(sae.encode(xs))) ** 2, axis=1, dtype=np.float64)
        pick = rng.choice(n_check, len(dead), replace=False, p=err**2 / np.sum(err**2))
        u = xs[pick] / np.linalg.norm(xs[pick], axis=1, keepdims=True)   # (n_dead, n_in)
        W = sae.enc.params["W"]
        W[:, dead] = RESAMPLE_SCALE * np.linalg.norm(W[:, fired], axis=0).mean() * u.T
        sae.enc.params["b"][dead] = 0
        sae.dec.params["V"][dead] = u
        for name, idx in (("enc.W", (slice(None), dead)), ("enc.b", dead), ("dec.V", dead)):
            for slot in opt.state[name].values():                    # Adam's m and v
                slot[idx] = 0
    return len(dead)


def train(sae, data, rng, *, resample=False):
    """Adam on batches of BATCH; with resample, dead latents are resampled
    after every epoch but the last."""
    opt = Adam(sae.params, lr=LR)
    for epoch in range(lesson.epochs):
        order = rng.permutation(len(data))
        for i in range(0, len(data), BATCH):
            opt.step(sae.loss_and_grad(data[order[i:i + BATCH]])[1])
        if resample and epoch < lesson.epochs - 1:
            lesson.report(f"  after epoch {epoch + 1}: {resample_dead(sae, opt, data, rng)} "
                          f"dead latents resampled")
    return sae


def measure(sae, a):
    """(L0, FVU, dead latents) on held-out activations a: (N, n_in)."""
    h = sae.encode(a)
    fvu = np.sum((a - sae.dec.forward(h)) ** 2) / np.sum((a - a.mean(axis=0)) ** 2)
    return float(np.mean(np.sum(h > 0, axis=1))), float(fvu), int(np.sum(h.max(axis=0) <= 0))



# %% [markdown]
# All seven start from the same initial dictionary.

# %%
seed = int(rng.integers(2**31))                      # the same initial weights for all
runs = [(f"top-{k}", dict(k=k)) for k in KS] + [(f"L1 {lam:g}", dict(lam=lam)) for lam in LAMS]
saes, results = {}, {}
for name, kind in runs:
    sae = SparseAE(200, N_LATENTS, rng=np.random.default_rng(seed), **kind)
    saes[name] = train(sae, acts_train, rng)
    results[name] = measure(sae, acts_test)
    lesson.report(f"{name}: L0 {results[name][0]:.1f}, FVU {results[name][1]:.3f}, "
                  f"dead latents {results[name][2]} of {N_LATENTS}")

# %% [markdown]
# For scale, PCA with $q$ components reconstructs every digit from $q$ *dense* numbers;
# its FVU on the test digits is one minus the share of the test variance in the top $q$
# principal directions of the training activations.

# %%
evals, evecs = np.linalg.eigh(acts_train.T @ acts_train / len(acts_train))
pcs = evecs[:, ::-1]                                  # (200, 200), by decreasing variance
centred = acts_test - acts_test.mean(axis=0)
qs = (4, 8, 16, 32, 64)
pca_fvu = [float(np.sum((centred - centred @ pcs[:, :q] @ pcs[:, :q].T) ** 2)
                 / np.sum(centred ** 2)) for q in qs]
lesson.report("PCA FVU on test activations: " + ", ".join(
    f"q={q}: {f:.3f}" for q, f in zip(qs, pca_fvu)))

# %%
frontier = {kind: tuple(np.array([results[n][i] for n, _ in runs if n.startswith(kind)])
                        for i in (0, 1)) for kind in ("top", "L1")}
lesson.save(xy_curves({"top-k (k = 8, 16, 32)": frontier["top"],
                       "L1 (lambda = 8, 5, 3, 2)": frontier["L1"],
                       "PCA, q dense components": (np.array(qs), np.array(pca_fvu))},
                      xlabel="L0: active latents per digit (PCA: components)",
                      ylabel="fraction of variance unexplained (test)", logx=True, logy=True,
                      title="Sparsity-fidelity frontier on the classifier's activations"),
            "frontier")

# %% [markdown]
# Lower and to the left is better. The top-k points lie well below the L1 curve: at
# the same number of active latents they leave about a third of the variance L1 leaves
# unexplained (the ratios are printed below). Part of the gap is the L1 penalty's shrinkage:
# it pulls every active code towards zero, so even the latents it keeps reconstruct too
# little, while top-k chooses *which* latents are on and leaves their values alone. The
# comparison is at equal L0: we interpolate the L1 curve, linearly in $\log L_0$ and
# $\log \mathrm{FVU}$, at each top-k's L0. No autoencoder here reaches PCA's line beyond $k = 8$
# in this short run: $q$ dense numbers against $q$ choices from 800 directions, after
# 4 epochs with many latents dead (section 5 revives them, and then top-16 passes PCA-16).

# %%
l1_l0, l1_fvu = (a[np.argsort(frontier["L1"][0])] for a in frontier["L1"])
ratios = {k: float(np.exp(np.interp(np.log(l0), np.log(l1_l0), np.log(l1_fvu)))) / fvu
          for k, l0, fvu in zip(KS, *frontier["top"]) if l1_l0[0] <= l0 <= l1_l0[-1]}
lesson.report("FVU of L1 at the same L0 / FVU of top-k: " + ", ".join(
    f"k={k}: {r:.2f}" for k, r in ratios.items()))
lesson.claim(f"top-k below L1 at equal L0 (Gao et al. 2024, fig. of the L0-MSE frontier): "
             f"worst over the k within the L1 curve's range ({len(ratios)} of {len(KS)}) of "
             f"FVU_L1 / FVU_topk", min(ratios.values(), default=0.0), gt=1.3)

# %% [markdown]
# ## 5. Dead latents, and resampling them
#
# A latent is **dead** if it is never active on the held-out digits. The top-k gradient
# of section 3 explains how one dies: a latent outside the winning set gets no gradient
# at all, so once it stops winning on every input nothing moves its encoder weights back.
# The top-k runs above lost a large share of their 800 latents this way (the more, the
# smaller $k$); the L1 runs, whose ReLU lets any positive pre-activation through, lost
# none in this short run.
#
# Bricken et al. (2023) bring dead latents back by **resampling**: every so often, find
# the latents that did not fire on a sample of training inputs; for each, draw an input
# $\bar a$ with probability proportional to the square of its reconstruction error (the
# inputs the dictionary explains worst), and set the latent's dictionary row to
# $\bar a / \|\bar a\|$, its encoder column to the same direction scaled to a fraction of
# the mean encoder norm of the living latents, its bias to zero, and its optimiser state
# to zero. Bricken et al. use the fraction 0.2 with their L1 penalty; a top-k latent
# must win a place among the $k$ largest to learn at all, and at 0.2 most of ours died
# again within an epoch, so we use 0.5. We resample the top-16 autoencoder after each of
# its first three epochs.

# %%
resampled = train(SparseAE(200, N_LATENTS, rng=np.random.default_rng(seed), k=K_READ),
                  acts_train, rng, resample=True)
results["top-16 resampled"] = measure(resampled, acts_test)
dead_before, dead_after = results[f"top-{K_READ}"][2], results["top-16 resampled"][2]
lesson.report(f"top-{K_READ}: dead latents on the test digits {dead_before} without "
              f"resampling, {dead_after} with; FVU {results[f'top-{K_READ}'][1]:.3f} "
              f"without, {results['top-16 resampled'][1]:.3f} with")

# %% [markdown]
# Resampling revives most of the dead latents and they stay alive (**112** dead
# without, **9** with), and in this short run the revived latents are not wasted: the
# FVU falls from **0.199** to **0.110**, at the same $k$, below PCA with 16 components
# (**0.164**). That gain is not a law: with `--full` (10 epochs on all 60,000) the
# autoencoder without resampling catches up on FVU, its living latents trained long
# enough to cover for the dead ones, while the counts of dead latents stay far apart.
# The claims are about the counts.

# %%
lesson.claim(f"top-{K_READ}, no resampling: share of latents dead on the test digits "
             f"(Bricken et al., Gao et al.: a large share without a remedy)",
             dead_before / N_LATENTS, gt=0.05)
lesson.claim(f"top-{K_READ}: dead latents with resampling / without", dead_after
             / max(dead_before, 1), lt=0.3)

# %% [markdown]
# ## 6. Do the features mean something? Label purity
#
# The test of a feature in Bricken et al. is whether the inputs that activate it most
# have something in common. Our inputs have a label, the digit, so one number measures
# it: for a feature $f$ (a latent, a neuron, a PCA direction) take the $T = 20$ test
# digits on which it is largest, $\mathrm{top}_T(f)$, and the share of them that carry
# their commonest label,
#
# $$
# \mathrm{purity}(f) = \frac1T \max_{c} \#\{ n \in \mathrm{top}_T(f) : y_n = c \} .
# $$
#
# A feature that fires for one digit class (or a piece of one) scores 1; 20 digits
# drawn at random score **0.221** on average. We compare three sets of 200 features: 200 latents
# of the top-16 autoencoder of section 4, drawn at random among those active on at least
# $T$ test digits (a latent active on fewer has no top 20); the 200 neurons of the
# network (their activations $a$); and the 200 principal directions of the activations.
# A PCA direction has no sign, so it gets the better of its two ends: an advantage to PCA.

# %%
def purity(acts, labels, n_top=N_TOP):
    """acts: (N, F), one column per feature -> (purity (F,), commonest label (F,),
    top (n_top, F): the indices of each feature's top-activating inputs)."""
    top = np.argsort(-acts, axis=0, kind="stable")[:n_top]            # (n_top, F)
    counts = np.stack([(labels[top] == c).sum(axis=0) for c in range(10)])   # (10, F)
    return counts.max(axis=0) / n_top, counts.argmax(axis=0), top


def readable(h, n=200):
    """n random latents among those active on >= N_TOP inputs of h: (N, m)."""
    alive = np.flatnonzero((h > 0).sum(axis=0) >= N_TOP)
    return rng.choice(alive, min(n, len(alive)), replace=False), len(alive)


# %%
h_test = saes[f"top-{K_READ}"].encode(acts_test)                        # (10000, 800)
chosen, n_alive = readable(h_test)
pur_sae, lab_sae, top_sae = purity(h_test[:, chosen], y_test)
pur_neuron, lab_neuron, top_neuron = purity(a_test, y_test)
proj = centred @ pcs                                                     # (10000, 200)
pur_pca = np.maximum(purity(proj, y_test)[0], purity(-proj, y_test)[0])
h_res = resampled.encode(acts_test)
pur_res = purity(h_res[:, readable(h_res)[0]], y_test)[0]
chance = np.mean([np.bincount(y_test[rng.choice(len(y_test), N_TOP, replace=False)],
                              minlength=10).max() / N_TOP for _ in range(1000)])
lesson.report(f"mean label purity of the top {N_TOP} test digits: top-{K_READ} SAE latents "
              f"{pur_sae.mean():.3f} ({len(chosen)} of the {n_alive} active on >= {N_TOP}); "
              f"network neurons {pur_neuron.mean():.3f}; PCA directions (better end) "
              f"{pur_pca.mean():.3f}; resampled top-{K_READ} SAE {pur_res.mean():.3f}; "
              f"random digits {chance:.3f}")

# %% [markdown]
# The autoencoder's latents are the purest of the three (**0.850** against **0.725** for
# the neurons and **0.425** for PCA): most of them pick out a single digit class among
# their top 20, where a neuron's top 20 mix classes more often, and
# PCA's directions, ordered by variance rather than by meaning, mix them most. The
# neurons are not a weak baseline: the classifier was trained to make this layer
# separate the classes, so a neuron's extreme inputs are often one digit already.
#
# The resampled autoencoder, better on FVU, has *less* pure latents. Revived latents
# start on the inputs reconstructed worst, the unusual digits of every class, and with
# only a few epochs left they settle on what is common to those rather than on a class;
# Bricken et al. train for far longer after each resampling.

# %%
lesson.claim(f"mean label purity of the top {N_TOP}, 200 top-{K_READ} SAE latents minus the "
             f"200 network neurons", pur_sae.mean() - pur_neuron.mean(), gt=0.05)
lesson.claim(f"mean label purity of the top {N_TOP}, 200 top-{K_READ} SAE latents minus the "
             f"200 PCA directions (better end)", pur_sae.mean() - pur_pca.mean(), gt=0.2)

# %% [markdown]
# ## 7. What a feature looks like
#
# The figure shows, for six of those latents and six neurons drawn at random (not
# chosen for looks), the ten test digits that activate each most, most activating on
# the left; each row is labelled with the feature, its commonest digit and its purity.

# %%
show_sae, show_neuron = rng.choice(len(chosen), 6, replace=False), rng.choice(200, 6,
                                                                               replace=False)
lesson.save(top_activating({
    f"top-{K_READ} SAE latents": (
        x_test[top_sae[:10, show_sae].T.ravel()],
        [f"latent {chosen[j]}: '{lab_sae[j]}' {pur_sae[j]:.2f}" for j in show_sae]),
    "network neurons": (
        x_test[top_neuron[:10, show_neuron].T.ravel()],
        [f"neuron {j}: '{lab_neuron[j]}' {pur_neuron[j]:.2f}" for j in show_neuron]),
}), "top_activating")

# %% [markdown]
# Read each row left to right. Most SAE latents' rows hold one digit, and several
# latents can share a digit, each for its own way of drawing it; a neuron's row more
# often holds two or three different digits that share strokes. That is the
# superposition picture of section 1 in small: a neuron is a mixture of several
# features, and the sparse dictionary pulls them apart.
#
# ## Check your understanding
#
# 1. The top-k autoencoders of section 4 end with many dead latents and the L1 ones with
#    none. Which line of the top-k backward pass (section 3) is responsible, and why does
#    a ReLU with an L1 penalty not have the same problem as strongly?
# 2. Section 4 compares L1 and top-k at equal L0, not at equal $\lambda$ and $k$. Why is
#    that the only fair comparison, and what would go wrong with a comparison at equal
#    training loss?
# 3. The L1 autoencoder with $\lambda = 8$ is active on **6.2** latents per digit, yet
#    leaves most of the variance unexplained. Name the effect, and predict what
#    re-fitting the values of its active latents by least squares (keeping its choice of
#    latents) would do to its FVU.
# 4. Set `RESAMPLE_SCALE = 0.2` (Bricken et al.'s value) in the first code cell and run
#    section 5 again: which claim fails, and what does the printed count of resampled
#    latents per epoch say about why?
# 5. The purity of the PCA directions takes the better of two ends. Would giving the
#    neurons the same treatment (the lowest activations too) change anything? Why not?
#
# ## Exercises
#
# * Exercise 24, `ex24_topk.py` (`tinyae exercises start DIR`): write the top-k
#   activation's forward (the $k$ largest entries of each row, ties to the lower index,
#   no ReLU) and its backward, which section 3 derives, with a cache of your own
#   design. The check runs your pair on ties, $k = 1$, $k$ equal to the width, rows of
#   negative entries and tokens, and trains a top-8 autoencoder with it.
#
# Try it: check your `topk_backward` from exercise 24 with
# `tinyae.gradcheck.check_arrays` against central differences of
# `sum(topk_forward(z, k)[0] * r)` for a fixed random `r`. Use inputs whose entries are
# distinct and evenly spaced (`tinyae.gradcheck.cases.dense.spaced_rows`), then put two
# entries at the $k$-th and $(k+1)$-th place within $10^{-9}$ of each other and explain
# the failure you see. Then add Gao et al.'s auxiliary loss (AuxK: the top-$k_{aux}$ of
# the *dead* latents reconstruct the residual $\bar a - \hat a$) to `SparseAE` and compare
# its dead latents with section 5's resampling.
#
# ## References
#
# * Bricken, T., Templeton, A., Batson, J., Chen, B., Jermyn, A., Conerly, T., Turner, N.,
#   Anil, C., Denison, C., Askell, A., et al. (2023). Towards
#   monosemanticity: decomposing language models with dictionary learning. *Transformer
#   Circuits Thread*. The sections on the sparse autoencoder setup (unit-norm
#   dictionary, L1 penalty) and on dead neurons and resampling.
# * Gao, L., Dupré la Tour, T., Tillman, H., Goh, G., Troll, R., Radford, A., Sutskever,
#   I., Leike, J. and Wu, J. (2024). Scaling and evaluating sparse autoencoders.
#   arXiv:2406.04093. The TopK activation, the section on preventing dead
#   latents (encoder initialised as the decoder's transpose, the AuxK loss), and the
#   figure of the L0-MSE frontier of TopK against ReLU (L1) autoencoders.
# * Makhzani, A. and Frey, B. (2013). k-sparse autoencoders. arXiv:1312.5663. The
#   k-sparse autoencoder: keep the k largest hidden units, backpropagate through them
#   only.
# * Elhage, N., Hume, T., Olsson, C., Schiefer, N., Henighan, T., Kravec, S.,
#   Hatfield-Dodds, Z., Lasenby, R., Drain, D., Chen, C., et al. (2022). Toy models of
#   superposition. *Transformer Circuits Thread*. The superposition hypothesis.

# %%
lesson.finish()
