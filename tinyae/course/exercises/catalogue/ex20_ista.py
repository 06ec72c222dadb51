"""Exercise 20: ISTA's proximal step for the lasso (the soft-threshold, one
step, the step size 1/L): the spec and its catalogue of mistakes (the source
is ``sources/ex20_ista.py``)."""

import numpy as np

from .... import functional as F
from ....inference import sparse_coding as sc
from ..specs import Exercise, Mistake, attempt
from ..specs import cases_in_both_dtypes as _cases

REFERENCE = {"soft_threshold_forward": F.soft_threshold_forward,
             "ista_step_forward": F.ista_step_forward,
             "lipschitz_constant": sc.lipschitz_constant}


def _out(fn, *args):
    """The first of what ``fn(*args)`` returns, or Raised (each output on its own)."""
    return attempt(lambda *a: fn(*a)[0], *args)


def _ista_program(f, v, t, z, x, D, lam, step):
    return {"soft": _out(f["soft_threshold_forward"], v, t),
            "z_next": _out(f["ista_step_forward"], z, x, D, lam, step),
            "L": attempt(f["lipschitz_constant"], D)}


def _ista_inputs(n, k, d, *, lam=0.5, step_times_L=1.0, L=5.0, t=0.3, v_scale=1.0, z0=True):
    """A soft-threshold input v: (n, k) (with a few entries at exactly +-t,
    the kinks) and one ISTA step's z: (n, k), x: (n, d), D: (k, d) scaled
    to ||D||_2^2 = L, with step = step_times_L / L (Python floats: the
    dtype of the arrays rules; step lam is far from lam)."""
    def make(rng):
        v = v_scale * rng.standard_normal((n, k))
        v.flat[:2] = [t, -t][:v.size]
        D = rng.standard_normal((k, d))
        D *= np.sqrt(L) / np.linalg.norm(D, 2)
        z = rng.standard_normal((n, k)) if z0 else np.zeros((n, k))
        return {"v": v, "t": float(t), "z": z, "x": rng.standard_normal((n, d)), "D": D,
                "lam": float(lam), "step": float(step_times_L / L)}
    return make


def _variant(soft="soft", threshold="step_lam", sign=-1.0, transpose=None, norm="2",
             squared=True):
    """The three functions with the mistakes chosen. ``transpose``: None, or
    "gradient" (the gradient multiplies by D, not D^T) or "dictionary" (D
    taken as the (d, K) dictionary of column-vector books: z D^T
    reconstructs); both run only on square dictionaries."""
    def soft_threshold_forward(v, t):
        mask = np.abs(v) > t
        if soft == "hard":
            out = np.where(mask, v, 0)
        elif soft == "no_sign":
            out = np.where(mask, np.abs(v) - t, 0)
        else:
            out = np.where(mask, v - t * np.sign(v), 0)
        return out.astype(v.dtype), mask

    def ista_step_forward(z, x, D, lam, step):
        recon = z @ D.T if transpose == "dictionary" else z @ D
        grad = (recon - x) @ (D if transpose else D.T)
        u = z + sign * step * grad
        return soft_threshold_forward(u, lam if threshold == "lam" else step * lam)

    def lipschitz_constant(D):
        s = np.linalg.norm(D.astype(np.float64), 2 if norm == "2" else "fro")
        return float(s * s) if squared else float(s)
    return {"soft_threshold_forward": soft_threshold_forward,
            "ista_step_forward": ista_step_forward, "lipschitz_constant": lipschitz_constant}


def _ista_integration(f, *, n_iter=100):
    """100 steps of the student's ISTA from z = 0 with step 1/L (the
    student's L) on a sparse-coding problem with a known sparse answer,
    against the library's ``ista``: the energies (summed over the batch)
    must agree step by step and never rise."""
    rng = np.random.default_rng(0)
    k, d, n, lam = 24, 12, 16, 0.1
    D = rng.standard_normal((k, d))
    D /= np.linalg.norm(D, axis=1, keepdims=True)                # unit atoms
    codes = np.where(rng.random((n, k)) < 3 / k, rng.standard_normal((n, k)), 0.0)
    x = codes @ D + 0.05 * rng.standard_normal((n, d))
    _, ref = sc.ista(x, D, lam, n_iter=n_iter, record=True)
    with np.errstate(all="ignore"):
        step = 1.0 / float(f["lipschitz_constant"](D))
        z = np.zeros((n, k))
        mine = [float(sc.sparse_coding_energy(z, x, D, lam).sum())]
        for _ in range(n_iter):
            z = np.asarray(f["ista_step_forward"](z, x, D, lam, step)[0])
            mine.append(float(sc.sparse_coding_energy(z, x, D, lam).sum()))
    mine, tol = np.array(mine), 1e-8
    worst = float(np.max(np.abs(mine - ref) / np.abs(ref))) if np.all(np.isfinite(mine)) \
        else float("inf")
    descends = bool(np.all(np.diff(mine) <= 1e-12 * np.abs(mine[:-1])))
    passed = bool(worst <= tol and descends)
    return [{"passed": passed, "student": float(mine[-1]), "reference": float(ref[-1]),
             "tol": tol,
             "text": f"{n_iter} steps of your ISTA (step 1/L) take the energy from "
                     f"{mine[0]:.4f} to {mine[-1]:.6f}, the library's ISTA to {ref[-1]:.6f}; "
                     f"largest relative difference along the way {worst:.1e}"
                     + ("" if descends else ", and yours rose at some step")
                     + f": {'pass' if passed else 'FAIL'} (tolerance {tol:g})"}]


ISTA = Exercise(
    number=20, slug="ista", title="ISTA's proximal step for the lasso",
    functions=tuple(REFERENCE), reference=REFERENCE,
    program=_ista_program,
    cases=lambda rng: _cases(rng, [
        ("4 codes of 7 atoms, 5-dim signals", _ista_inputs(4, 7, 5)),
        ("batch 1, 6 atoms, 3-dim signal", _ista_inputs(1, 6, 3, lam=0.2)),
        ("1 atom (width 1), 4-dim signals", _ista_inputs(5, 1, 4)),
        ("1-dim signals (d = 1), 3 atoms", _ista_inputs(3, 3, 1, lam=0.1)),
        ("square dictionary (K = d = 4), step 0.6 / L", _ista_inputs(3, 4, 4, step_times_L=0.6)),
        ("large values (v of size 1000, t = 50), lam 20", _ista_inputs(3, 5, 4, lam=20.0, t=50.0,
                                                                       v_scale=1e3)),
        ("t = 0 and lam = 0, from z = 0", _ista_inputs(2, 6, 3, lam=0.0, t=0.0, z0=False))]),
    integration=_ista_integration,
    mistakes=(
        Mistake("hard_threshold",
                "you kept the surviving entries as they are (hard thresholding): minimise "
                "1/2 (w - v)^2 + t |w| on w > 0 once more; the t |w| term moves the "
                "minimiser as well as deciding which entries are 0",
                _variant(soft="hard"),
                (("out = np.where(mask, v - t * np.sign(v), 0)", "out = np.where(mask, v, 0)"),),
                forms=((("out = np.where(mask, v - t * np.sign(v), 0).astype(v.dtype)",
                         "out = (v * (np.abs(v) > t)).astype(v.dtype)"),),)),
        Mistake("sign_lost",
                "your soft-threshold loses the sign: thresholding |v| is right, but the "
                "answer w has the sign of v (w < 0 when v < -t)",
                _variant(soft="no_sign"),
                (("out = np.where(mask, v - t * np.sign(v), 0)",
                  "out = np.where(mask, np.abs(v) - t, 0)"),),
                forms=((("out = np.where(mask, v - t * np.sign(v), 0).astype(v.dtype)",
                         "out = np.maximum(np.abs(v) - t, 0).astype(v.dtype)"),),)),
        Mistake("threshold_not_scaled_by_step",
                "your step thresholds at lam: the proximal step minimises 1/(2 step) "
                "||w - u||^2 + lam ||w||_1, so each entry is thresholded at step * lam",
                _variant(threshold="lam"),
                (("soft_threshold_forward(u, step * lam)", "soft_threshold_forward(u, lam)"),),
                forms=((("    out, cache = soft_threshold_forward(u, step * lam)\n",
                         "    out = np.sign(u) * np.maximum(np.abs(u) - lam, 0)\n"
                         "    cache = None\n"),),)),
        Mistake("gradient_sign",
                "your step goes uphill: your gradient of f = 1/2 ||x - z D||^2 has the "
                "wrong sign (check the sign of the residual as you differentiate), or the "
                "step adds it instead of subtracting it",
                _variant(sign=1.0),
                (("u = z - step * grad", "u = z + step * grad"),),
                forms=((("residual = z @ D - x ", "residual = x - z @ D "),),)),
        Mistake("dictionary_transposed",
                "D is used transposed: its rows are the K atoms (D is (K, d)), so z D "
                "reconstructs x; follow the shape of every product of your step, since "
                "with a square dictionary the shapes do not warn you",
                (_variant(transpose="gradient"), _variant(transpose="dictionary")),
                (("grad = residual @ D.T", "grad = residual @ D"),),
                forms=((("residual = z @ D - x ", "residual = z @ D.T - x "),
                        ("grad = residual @ D.T", "grad = residual @ D")),)),
        Mistake("lipschitz_frobenius",
                "your L is the squared Frobenius norm of D (the sum of all its squared "
                "singular values): a bound on how much grad f can change, but not the "
                "smallest one, so the steps are needlessly short; which norm of a matrix "
                "measures the most it can stretch a vector?",
                _variant(norm="fro"),
                (("np.linalg.norm(D.astype(np.float64), 2)",
                  "np.linalg.norm(D.astype(np.float64))"),),
                forms=((("L = float(s * s)", "L = float(np.sum(D.astype(np.float64) ** 2))"),),)),
        Mistake("lipschitz_not_squared",
                "your L is a norm of D, not its square: grad f multiplies z by D twice, so "
                "its Lipschitz constant scales as D squared",
                _variant(squared=False),
                (("L = float(s * s)", "L = float(s)"),),
                forms=((("L = float(s * s)",
                         "L = float(np.sqrt(np.linalg.eigvalsh(D @ D.T).max()))"),),)),
    ))


#: The hints, level 1 (where to start) to 3 (the formula): Markdown with
#: $...$ maths, shown by ``tinyae exercises hint`` and the course book.
HINTS = (
    r"""For $\nabla f$: with $e = x_n - z_n D$ (a $d$-row), $f(z_n + \delta) = \tfrac12 \|e - \delta D\|^2$;
expand the square and keep the term linear in $\delta$, then write it as
$\delta \cdot (\text{something})$. For the soft-threshold, on $w > 0$ the objective is the
smooth $\tfrac12(w - v)^2 + t w$: set its derivative to 0 and ask when that $w$ really is
positive; the same for $w < 0$; otherwise $w = 0$.""",
    r"""The linear term is $-e \cdot (\delta D) = -\delta \cdot (e D^\top)$, so
$\nabla f(z_n) = (z_n D - x_n) D^\top$, a $K$-row: for the batch, one matrix product of
the $(N, d)$ residual with $D^\top$. The soft-threshold: $w = v - t$ when $v > t$,
$w = v + t$ when $v < -t$, else 0. And
$\|\nabla f(z) - \nabla f(z')\| = \|(z - z') D D^\top\|$: which norm of $D D^\top$ bounds
that for every $z - z'$?""",
    r"""$$\text{soft}(v, t) = \text{sign}(v) \max(|v| - t, 0), \qquad
z \leftarrow \text{soft}\big(z - \eta\, (z D - x) D^\top,\ \eta\lambda\big), \qquad
L = \|D\|_2^2 = \sigma_\text{max}(D)^2.$$

In NumPy: `np.where(np.abs(v) > t, v - t * np.sign(v), 0)`, `u = z - step * ((z @ D - x) @ D.T)`
thresholded at `step * lam`, and `np.linalg.norm(D, 2) ** 2`.""",
)
