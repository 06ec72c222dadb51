"""Exercise 21: the VQ-VAE's quantiser (nearest code, straight-through
estimator, codebook and commitment losses): the spec and its catalogue of
mistakes (the source is ``sources/ex21_vq.py``)."""

import numpy as np

from .... import functional as F
from .. import harness
from ..specs import Exercise, Mistake, Raised, attempt
from ..specs import cases_in_both_dtypes as _cases
from .base import compare_runs, dense_params

NAMES = ("vq_nearest", "vq_straight_through_forward", "vq_straight_through_backward",
         "vq_losses")
REFERENCE = {name: getattr(F, name) for name in NAMES}
ST, LOSSES = "dz_e (straight-through)", "dz_e (losses)"


def _vq_program(f, z_e, codebook, idx, dz_q, beta, n):
    """The search on its own; the straight-through pair and the losses at
    the true nearest codes ``idx`` (so a wrong search is not blamed on
    them). Each output is computed on its own (Raised where it raises)."""
    near = attempt(f["vq_nearest"], z_e, codebook)
    found, dist = (near, near) if isinstance(near, Raised) else near
    z_e_sg, z_q_sg = z_e.copy(), codebook[idx]
    st = attempt(f["vq_straight_through_forward"], z_e, z_e_sg, z_q_sg)
    z_q, cache = (st, None) if isinstance(st, Raised) else st
    losses = attempt(f["vq_losses"], z_e, z_q_sg, z_e_sg, codebook, idx, beta, n)
    C, B, dz_e, dcodebook = (losses,) * 4 if isinstance(losses, Raised) else losses
    return {"idx": found, "dist": dist, "z_q": z_q,
            ST: attempt(f["vq_straight_through_backward"], dz_q, cache),
            "C": C, "B": B, LOSSES: dz_e, "dcodebook": dcodebook}


def _distances(z, codebook):
    return np.sum((z[:, None, :] - codebook[None, :, :]) ** 2, axis=2)


def _vq_inputs(n, positions, k, dim, beta, *, scale=1.0, noise=0.4):
    """Encoder outputs near the codes (the rows of n images x ``positions``;
    with more rows than codes, some code is chosen twice or more), each with
    its nearest code at least 1e-3 nearer than the next (no near-tie that
    rounding could flip), the true nearest ``idx`` and a decoder gradient."""
    def make(rng):
        m = n * positions
        codebook = scale * rng.standard_normal((k, dim))
        z_e = codebook[rng.integers(0, k, m)] + noise * scale * rng.standard_normal((m, dim))
        for _ in range(100):
            d = np.sort(_distances(z_e, codebook), axis=1)
            close = d[:, 1] - d[:, 0] < 1e-3 if k > 1 else np.zeros(m, bool)
            if not close.any():
                break
            z_e[close] += noise * scale * rng.standard_normal((int(close.sum()), dim))
        idx = np.argmin(_distances(z_e, codebook), axis=1)
        return {"z_e": z_e, "codebook": codebook, "idx": idx,
                "dz_q": rng.standard_normal((m, dim)), "beta": beta, "n": n}
    return make


def _vq_ties(rng):
    """Small integers (exact in float32 too): code 2 repeats code 0, and rows
    at equal distance from two codes; the lowest k wins each tie."""
    codebook = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 0.0], [0.0, 2.0]])
    z_e = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 1.0], [0.0, 0.0], [3.0, 1.0]])
    return {"z_e": z_e, "codebook": codebook, "idx": np.argmin(_distances(z_e, codebook), 1),
            "dz_q": rng.standard_normal(z_e.shape), "beta": 0.25, "n": 3}


def _vq_cases(rng):
    """Cases in both dtypes; the true nearest codes stay int64."""
    cases = _cases(rng, [
        ("3 images x 2 positions, 5 codes of dimension 3, beta 0.25",
         _vq_inputs(3, 2, 5, 3, 0.25)),
        ("batch 1, one position, 4 codes, beta 0.5", _vq_inputs(1, 1, 4, 3, 0.5)),
        ("codebook of 1 code, 2 images x 2 positions, beta 1.5", _vq_inputs(2, 2, 1, 2, 1.5)),
        ("codebook of 2 codes, 5 images, beta 0.25", _vq_inputs(5, 1, 2, 4, 0.25)),
        ("code dimension 1 (width 1), 4 images x 3 positions, 6 codes, beta 2",
         _vq_inputs(4, 3, 6, 1, 2.0)),
        ("8 codes for 4 rows (some unused), values of size 5, beta 0.3",
         _vq_inputs(2, 2, 8, 3, 0.3, scale=5.0)),
        ("ties: a repeated code and rows halfway between two codes, beta 0.25", _vq_ties)])
    for case in cases:
        case.inputs["idx"] = case.inputs["idx"].astype(np.int64)
    return cases


def _vq_fd(f, rng):
    """The surrogate sum(z_q r) + C + B with the search and the stop-gradient
    values frozen: smooth in z_e and the codebook. Two rows share a code."""
    codebook = rng.standard_normal((4, 3))
    z_e = codebook[[0, 2, 2, 3, 0]] + 0.3 * rng.standard_normal((5, 3))
    idx = F.vq_nearest(z_e, codebook)[0]
    z_e_sg, z_q_sg, r, beta, n = z_e.copy(), codebook[idx], rng.standard_normal((5, 3)), 0.4, 2
    _, cache = f["vq_straight_through_forward"](z_e, z_e_sg, z_q_sg)
    dz_st = f["vq_straight_through_backward"](r, cache)
    _, _, dz_e, dcodebook = f["vq_losses"](z_e, z_q_sg, z_e_sg, codebook, idx, beta, n)

    def loss():
        out = f["vq_straight_through_forward"](z_e, z_e_sg, z_q_sg)[0]
        C, B = f["vq_losses"](z_e, z_q_sg, z_e_sg, codebook, idx, beta, n)[:2]
        return float(np.sum(out * r)) + float(C) + float(B)
    return {"sum(z_q r) + C + B": (loss, {"z_e": z_e, "codebook": codebook},
                                   {"z_e": np.asarray(dz_st) + np.asarray(dz_e),
                                    "codebook": dcodebook})}


def _variant(search="argmin", straight_through=True, beta_on="commitment",
             sg="right", accumulate=True, per="image"):
    """The four functions with the mistakes chosen. ``search``: "argmax",
    "no_norms" (both squared norms dropped: -2 z.e) or "no_code_norms"
    (||e_k||^2 dropped); ``sg``: "missing" (both terms differentiated in both
    arguments), "codebook" (the codebook term's gradient sent to z_e instead
    of e) or "commitment" (the commitment term's sent to e instead of z_e)."""
    def vq_nearest(z, codebook):
        cross = z @ codebook.T
        d = {"no_norms": -2 * cross,
             "no_code_norms": np.sum(z * z, axis=1)[:, None] - 2 * cross}.get(
                 search, _distances(z, codebook))
        idx = np.argmax(d, axis=1) if search == "argmax" else np.argmin(d, axis=1)
        return idx.astype(np.int64), d[np.arange(z.shape[0]), idx].astype(z.dtype)

    def vq_straight_through_forward(z_e, z_e_sg, z_q_sg):
        return z_e + (z_q_sg - z_e_sg), None

    def vq_straight_through_backward(dout, cache):
        return dout if straight_through else np.zeros_like(dout)

    def vq_losses(z_e, z_q_sg, z_e_sg, codebook, idx, beta, n):
        n = z_e.shape[0] if per == "vector" else n
        c_w, b_w = (beta, 1.0) if beta_on == "codebook" else (1.0, beta)
        C = c_w * float(np.sum((z_e_sg - codebook[idx]) ** 2)) / n
        B = b_w * float(np.sum((z_e - z_q_sg) ** 2)) / n
        to_z = {"right": b_w, "missing": b_w + c_w, "codebook": b_w + c_w, "commitment": 0.0}
        to_e = {"right": c_w, "missing": b_w + c_w, "codebook": 0.0, "commitment": b_w + c_w}
        dz_e = (2 * to_z[sg] / n) * (z_e - z_q_sg)
        dcodebook = np.zeros_like(codebook)
        g = (2 * to_e[sg] / n) * (codebook[idx] - z_e_sg)
        if accumulate:
            np.add.at(dcodebook, idx, g)
        else:
            dcodebook[idx] = g
        return C, B, dz_e.astype(z_e.dtype), dcodebook
    return {"vq_nearest": vq_nearest, "vq_straight_through_forward": vq_straight_through_forward,
            "vq_straight_through_backward": vq_straight_through_backward, "vq_losses": vq_losses}


# --------------------------------------------------------------------------
# The integration run: a small VQ-VAE
# --------------------------------------------------------------------------

def _train_vq(funcs, *, steps=300, positions=4, dim=3, codes=16, hidden=64, beta=0.25,
              seed=0):
    """Train 196 -> hidden (ReLU) -> positions x dim, quantised with
    ``codes`` codes, -> hidden (ReLU) -> 196 on the harness's digits (squared
    error + codebook + commitment, Adam); ``funcs`` supplies the four
    quantiser functions. The codebook starts on encoder outputs of the
    first batch (no dead codes at the start). Returns the loss of every step."""
    x, rng = harness.digits(), np.random.default_rng(seed)
    params = dense_params(rng, {"1": (196, hidden), "2": (hidden, positions * dim),
                                "3": (positions * dim, hidden), "4": (hidden, 196)})
    state, losses = {}, []
    for t, idx_b in enumerate(harness._batches(rng, steps), start=1):
        xb = x[idx_b]
        a1, c1 = F.linear_forward(xb, params["W1"], params["b1"])
        h1, r1 = F.relu_forward(a1)
        ze, c2 = F.linear_forward(h1, params["W2"], params["b2"])
        rows = ze.reshape(-1, dim)                                  # (32 positions, dim)
        if t == 1:
            params["codebook"] = rows[rng.choice(len(rows), codes, replace=False)].copy()
        codebook = params["codebook"]
        idx = np.asarray(funcs["vq_nearest"](rows, codebook)[0])
        z_e_sg, z_q_sg = rows.copy(), codebook[idx]
        zq, cache = funcs["vq_straight_through_forward"](rows, z_e_sg, z_q_sg)
        a3, c3 = F.linear_forward(np.asarray(zq).reshape(ze.shape), params["W3"], params["b3"])
        h3, r3 = F.relu_forward(a3)
        out, c4 = F.linear_forward(h3, params["W4"], params["b4"])
        recon, dout = F.mse_loss(out, xb)
        dh3, dW4, db4 = F.linear_backward(dout, c4)
        dzq, dW3, db3 = F.linear_backward(F.relu_backward(dh3, r3), c3)
        dz_st = funcs["vq_straight_through_backward"](dzq.reshape(-1, dim), cache)
        C, B, dz_c, dcb = funcs["vq_losses"](rows, z_q_sg, z_e_sg, codebook, idx, beta,
                                             len(xb))
        dze = (np.asarray(dz_st) + np.asarray(dz_c)).reshape(ze.shape)
        dh1, dW2, db2 = F.linear_backward(dze, c2)
        _, dW1, db1 = F.linear_backward(F.relu_backward(dh1, r1), c1)
        grads = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2, "W3": dW3, "b3": db3,
                 "W4": dW4, "b4": db4, "codebook": np.asarray(dcb)}
        harness._adam_step(harness.REFERENCE_OPS, params, grads, state, t)
        losses.append(recon + float(C) + float(B))
    return np.array(losses)


def _vq_integration(f):
    return compare_runs(_train_vq, f, REFERENCE, lambda mine, ref, steps: (
        f"your quantiser trains a small VQ-VAE (4 positions of dimension 3, 16 codes) for "
        f"{steps} steps to a loss (squared error + codebook + commitment per digit) of "
        f"{mine:.4f}, the reference to {ref:.4f}"))


VQ = Exercise(
    number=21, slug="vq", title="the VQ-VAE's quantiser: nearest code, straight-through, "
                                "codebook and commitment",
    functions=NAMES, reference=REFERENCE,
    program=_vq_program, cases=_vq_cases, fd=_vq_fd, integration=_vq_integration,
    mistakes=(
        Mistake("argmax_distance",
                "your idx picks the farthest code: the quantiser takes the code at the "
                "smallest squared distance",
                _variant(search="argmax"),
                (("idx = np.argmin(d, axis=1)", "idx = np.argmax(d, axis=1)"),),
                forms=((("idx = np.argmin(d, axis=1)", "idx = np.argmin(-d, axis=1)"),),)),
        Mistake("distance_without_norms",
                "your distance lacks the squared norms: ||z - e_k||^2 = ||z||^2 - 2 z.e_k "
                "+ ||e_k||^2, and ||e_k||^2 differs from code to code, so the largest dot "
                "product is not the nearest code",
                (_variant(search="no_norms"), _variant(search="no_code_norms")),
                (("d = ((z[:, None, :] - codebook[None, :, :]) ** 2).sum(axis=2)",
                  "d = -2 * (z @ codebook.T)"),),
                forms=((("d = ((z[:, None, :] - codebook[None, :, :]) ** 2).sum(axis=2)",
                         "d = np.sum(z * z, axis=1)[:, None] - 2 * z @ codebook.T"),),)),
        Mistake("no_straight_through",
                "your backward sends no gradient to z_e: the true derivative of the "
                "nearest code is 0, which is why z_q is written z_e + sg(z_q - z_e); "
                "differentiate that, with sg a constant",
                _variant(straight_through=False),
                (("    dz_e = dout\n", "    dz_e = np.zeros_like(dout)\n"),),
                forms=((("    dz_e = dout\n", "    dz_e = 0.0 * dout\n"),),)),
        Mistake("beta_on_codebook_term",
                "beta weighs the wrong term: the commitment term beta ||z_e - sg(e)||^2 "
                "carries it and the codebook term ||sg(z_e) - e||^2 does not (with the "
                "stop-gradients swapped instead, your gradients would be these too)",
                _variant(beta_on="codebook"),
                (("C = float(", "C = beta * float("),
                 ("B = beta * float(", "B = float("),
                 ("dz_e = (2 * beta / n)", "dz_e = (2 / n)"),
                 ("(2 / n) * (codebook[idx] - z_e_sg)", "(2 * beta / n) * (codebook[idx] - z_e_sg)")),
                forms=((("C = float(np.sum((z_e_sg - codebook[idx]) ** 2)) / n",
                         "C = beta * float(np.sum((codebook[idx] - z_e_sg) ** 2)) / n"),
                        ("B = beta * float(np.sum((z_e - z_q_sg) ** 2)) / n",
                         "B = float(np.sum((z_q_sg - z_e) ** 2)) / n"),
                        ("dz_e = (2 * beta / n) * (z_e - z_q_sg)", "dz_e = 2 * (z_e - z_q_sg) / n"),
                        ("np.add.at(dcodebook, idx, (2 / n) * (codebook[idx] - z_e_sg))",
                         "np.add.at(dcodebook, idx, 2 * beta * (codebook[idx] - z_e_sg) / n)")),)),
        Mistake("codebook_gradient_assigned",
                "when several rows chose the same code, its gradient is the sum of their "
                "contributions; yours kept only one (an assignment, or a fancy-indexed +=, "
                "which writes each repeated index once: np.add.at adds them all)",
                _variant(accumulate=False),
                (("np.add.at(dcodebook, idx, (2 / n) * (codebook[idx] - z_e_sg))",
                  "dcodebook[idx] += (2 / n) * (codebook[idx] - z_e_sg)"),),
                forms=((("np.add.at(dcodebook, idx, (2 / n) * (codebook[idx] - z_e_sg))",
                         "for m, k in enumerate(idx):\n"
                         "        dcodebook[k] = (2 / n) * (codebook[k] - z_e_sg[m])"),),)),
        Mistake("stop_gradient_misplaced",
                "a stop-gradient is on the wrong side: the codebook term sends its "
                "gradient to the codes only (z_e is a constant in it), the commitment term "
                "to z_e only (the code is a constant in it)",
                (_variant(sg="missing"), _variant(sg="codebook"), _variant(sg="commitment")),
                (("dz_e = (2 * beta / n)", "dz_e = (2 * (1 + beta) / n)"),
                 ("(2 / n) * (codebook[idx] - z_e_sg)",
                  "(2 * (1 + beta) / n) * (codebook[idx] - z_e_sg)")),
                forms=((("dz_e = (2 * beta / n) * (z_e - z_q_sg)",
                         "dz_e = (2 * beta / n) * (z_e - z_q_sg) + (2 / n) * (z_e - codebook[idx])"),
                        ("    np.add.at(dcodebook, idx, (2 / n) * (codebook[idx] - z_e_sg))\n",
                         "")),
                       (("dz_e = (2 * beta / n) * (z_e - z_q_sg)", "dz_e = 0 * z_e"),
                        ("(2 / n) * (codebook[idx] - z_e_sg)",
                         "(2 / n) * (1 + beta) * (codebook[idx] - z_e_sg)")))),
        Mistake("divided_by_vectors",
                "you divided by the number of vectors M (images x positions); the losses "
                "are sums over an image's positions and means over the n images: divide "
                "by n",
                _variant(per="vector"),
                (("    C = float(", "    n = z_e.shape[0]\n    C = float("),),
                forms=((("C = float(np.sum((z_e_sg - codebook[idx]) ** 2)) / n",
                         "C = float(np.mean(np.sum((z_e_sg - codebook[idx]) ** 2, axis=1)))"),
                        ("B = beta * float(np.sum((z_e - z_q_sg) ** 2)) / n",
                         "B = beta * float(np.mean(np.sum((z_e - z_q_sg) ** 2, axis=1)))"),
                        ("dz_e = (2 * beta / n)", "dz_e = (2 * beta / len(z_e))"),
                        ("(2 / n) * (codebook[idx] - z_e_sg)",
                         "(2 / len(idx)) * (codebook[idx] - z_e_sg)")),)),
    ))


#: The hints, level 1 (where to start) to 3 (the formula): Markdown with
#: $...$ maths, shown by ``tinyae exercises hint`` and the course book.
HINTS = (
    r"""For the search, compute all $M \times K$ squared distances at once (broadcast
$z[:, None, :]$ against $e[None, :, :]$, or expand the square) and take the index of the
smallest per row. For the gradients, treat every sg-argument as a number that does not
move: in $z_e + \text{sg}(z_q - z_e)$ only the first $z_e$ varies; in $C$ only $e_k$, in
$B$ only $z_e$. Then differentiate one term $m$ of each sum.""",
    r"""$\partial\, \text{out} / \partial z_e$ is the identity, so the decoder's gradient
crosses unchanged. $B$'s term $m$ gives $\frac{2\beta}{N}(z_e[m] - z_q[m])$ to row $m$ of
$z_e$ and nothing to the codes; $C$'s term $m$ gives $\frac{2}{N}(e_{k_m} - z_e[m])$ to
code $k_m$ and nothing to $z_e$. A code chosen by several rows collects all their terms:
`dcodebook[idx] += g` does not (with a repeated index it writes once); `np.add.at`, a loop
with `+=`, or per-code counts and sums do.""",
    r"""$$dz_e = dz_q \ \text{(straight through)}, \qquad
\frac{\partial (C + B)}{\partial z_e[m]} = \frac{2\beta}{N}\,(z_e[m] - e_{k_m}), \qquad
\frac{\partial (C + B)}{\partial e_k} = \frac{2}{N} \sum_{m : k_m = k} (e_k - z_e[m]).$$

In NumPy: `d = ((z[:, None, :] - codebook[None, :, :]) ** 2).sum(axis=2)`,
`idx = np.argmin(d, axis=1)`; `dz_e = (2 * beta / n) * (z_e - z_q_sg)` and
`np.add.at(dcodebook, idx, (2 / n) * (codebook[idx] - z_e_sg))`.""",
)
