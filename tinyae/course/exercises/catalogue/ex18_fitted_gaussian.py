"""Exercise 18: a Gaussian fitted to the codes, and samples from it through
its Cholesky factor: the spec and its catalogue of mistakes (the source is
``sources/ex18_fitted_gaussian.py``)."""

import numpy as np

from ....analysis.generative import fit_gaussian, sample_gaussian
from ..specs import Exercise, Mistake, Raised, attempt
from ..specs import cases_in_both_dtypes as _cases


def _gauss_program(f, codes, mean, cov, eps):
    fitted = attempt(f["fit_gaussian"], codes)
    m, c = (fitted, fitted) if isinstance(fitted, Raised) else fitted
    return {"mean": m, "cov": c, "z": attempt(f["sample_gaussian"], mean, cov, eps)}


def _codes(rng, n, d, shift=0.0, mixing=0.5):
    """n codes of d dimensions, correlated through a random mixing matrix
    (off-diagonal entries ``mixing`` times a standard normal), mean ``shift``."""
    a = np.eye(d) + mixing * np.tril(rng.standard_normal((d, d)), -1)
    a *= rng.uniform(0.5, 2.0, d)                         # unequal scales
    return shift + rng.standard_normal(d) + rng.standard_normal((n, d)) @ a.T


def _gauss_inputs(n, d, draws, shift=0.0, mixing=0.5):
    def make(rng):
        codes = _codes(rng, n, d, shift, mixing)
        # the sampler's Gaussian: these codes' fit, exactly (float64)
        centred = codes - codes.mean(axis=0)
        return {"codes": codes, "mean": codes.mean(axis=0),
                "cov": centred.T @ centred / (n - 1),
                "eps": rng.standard_normal((draws, d))}
    return make


#: Draws, codes and the largest relative error of the draws' covariance
#: against the codes' that the moment test accepts: its sampling error is
#: about sqrt(2 / DRAWS) ~ 1% of the scale, a factor off by 5% (a variance
#: 10% off) is twice the tolerance.
DRAWS, N_CODES, MOMENT_TOL = 20000, 300, 0.05


def _moments(fit, sample):
    rng = np.random.default_rng(18)
    codes = _codes(rng, N_CODES, 4, shift=3.0, mixing=1.5)
    eps = rng.standard_normal((DRAWS, 4))
    mean, cov = fit(codes)
    z = np.asarray(sample(mean, cov, eps), dtype=np.float64)
    target = np.cov(codes, rowvar=False)
    err = float(np.max(np.abs(np.cov(z, rowvar=False) - target)) / np.max(np.abs(target)))
    shift = float(np.max(np.abs(z.mean(axis=0) - codes.mean(axis=0)))
                  / np.sqrt(np.max(np.diag(target))))
    return err, shift


def _gauss_integration(f):
    """The moment test: the draws' covariance against the codes' (relative to
    its largest entry), their mean against the codes' (in units of the largest
    standard deviation); both must be below ``MOMENT_TOL``."""
    err, shift = _moments(f["fit_gaussian"], f["sample_gaussian"])
    ref_err, ref_shift = _moments(fit_gaussian, sample_gaussian)
    passed = bool(err < MOMENT_TOL and shift < MOMENT_TOL)
    return [{"passed": passed, "student": err, "reference": ref_err, "tol": MOMENT_TOL,
             "text": f"{DRAWS:,} draws from the Gaussian your functions fit to {N_CODES} "
                     f"correlated 4-D codes: their covariance is {100 * err:.1f}% off the "
                     f"codes', their mean {100 * shift:.1f}% of a standard deviation (the "
                     f"library's draws: {100 * ref_err:.1f}% and {100 * ref_shift:.1f}%; "
                     f"each must be < {100 * MOMENT_TOL:g}%): {'pass' if passed else 'FAIL'}"}]


def _fit_variant(normaliser=1, centred=True, diagonal=False):
    def fit(codes):
        n = codes.shape[0]
        mean = codes.mean(axis=0)
        x = codes - mean if centred else codes
        cov = x.T @ x / (n - normaliser)
        return mean, (np.diag(np.diag(cov)) if diagonal else cov).astype(codes.dtype)
    return {"fit_gaussian": fit}


def _sample_variant(how):
    def sample(mean, cov, eps):
        c = cov.astype(np.float64)
        if how == "cov":
            a = c
        elif how == "per_dimension":
            a = np.diag(np.sqrt(np.diag(c)))
        elif how == "symmetric":
            vals, vecs = np.linalg.eigh(c)
            a = vecs @ np.diag(np.sqrt(vals)) @ vecs.T
        else:                                               # "transposed": eps @ L
            a = np.linalg.cholesky(c).T
        return (mean + eps.astype(np.float64) @ a.T).astype(eps.dtype)
    return {"sample_gaussian": sample}


_COV = "cov = centred.T @ centred / (n - 1)"
_Z = "z = mean + eps @ factor.T"
_FACTOR = "factor = np.linalg.cholesky(cov)"

FITTED_GAUSSIAN = Exercise(
    number=18, slug="fitted_gaussian", title="a Gaussian fitted to the codes, and samples",
    functions=("fit_gaussian", "sample_gaussian"),
    reference={"fit_gaussian": fit_gaussian, "sample_gaussian": sample_gaussian},
    program=_gauss_program,
    cases=lambda rng: _cases(rng, [
        ("40 codes of 4 dims, 6 draws", _gauss_inputs(40, 4, 6)),
        ("codes far from 0 (mean ~20), 5 draws", _gauss_inputs(25, 3, 5, shift=20.0)),
        ("width 1: 9 codes of 1 dim", _gauss_inputs(9, 1, 4)),
        ("one draw", _gauss_inputs(12, 3, 1)),
        ("n = d + 1: 4 codes of 3 dims", _gauss_inputs(4, 3, 3)),
        ("strongly correlated: 30 codes of 5 dims", _gauss_inputs(30, 5, 7, mixing=3.0))]),
    integration=_gauss_integration,
    mistakes=(
        Mistake("cov_biased",
                "your covariance divides by n: that is the maximum-likelihood estimate, "
                "biased low because the codes are centred on their own mean (which is "
                "fitted to them); the unbiased estimate divides by n - 1",
                _fit_variant(normaliser=0),
                ((_COV, _COV.replace("(n - 1)", "n")),),
                forms=(((_COV, "cov = np.atleast_2d(np.cov(codes, rowvar=False, "
                               "bias=True)).astype(codes.dtype)"),),)),
        Mistake("cov_not_centred",
                "your covariance is built from the codes themselves, not from their "
                "differences to the mean: subtract the mean before the outer products "
                "(far from 0, the mean's outer product swamps the spread)",
                _fit_variant(centred=False),
                ((_COV, _COV.replace("centred.T @ centred", "codes.T @ codes")),),
                forms=(((_COV, 'cov = np.einsum("ni,nj->ij", codes, codes) / (n - 1)'),),)),
        Mistake("cov_diagonal",
                "your covariance is diagonal: the codes' dimensions are correlated, and a "
                "Gaussian with only their variances draws codes with the wrong shape; keep "
                "every entry of the (d, d) matrix",
                _fit_variant(diagonal=True),
                ((_COV, "cov = np.diag(np.diag(centred.T @ centred)) / (n - 1)"),),
                forms=(((_COV, "cov = np.diag(codes.var(axis=0, ddof=1))"),),)),
        Mistake("sample_with_cov",
                "you multiplied the draws by the covariance itself: that gives covariance "
                "C C^T = C^2, not C; multiply by a square root of C, its Cholesky factor",
                _sample_variant("cov"),
                ((_Z, "z = mean + eps @ cov"),),
                forms=(((_Z, "z = mean + (cov @ eps.T).T"),),)),
        Mistake("factor_transposed",
                "your draws use the transposed factor: for eps a column vector the draw "
                "is m + L eps, and with the draws as the rows of eps, the product must "
                "give row i = (L eps_i)^T; check which of L and L^T that needs",
                _sample_variant("transposed"),
                ((_Z, "z = mean + eps @ factor"),),
                forms=(((_Z, "z = mean + (factor.T @ eps.T).T"),),)),
        Mistake("std_per_dimension",
                "you scaled each dimension by its standard deviation alone: that samples "
                "the diagonal of C and drops every correlation; multiply by the Cholesky "
                "factor of the whole matrix",
                _sample_variant("per_dimension"),
                ((_Z, "z = mean + eps * np.sqrt(np.diag(cov))"),),
                forms=(((_Z, "z = mean + eps @ np.diag(np.sqrt(np.diag(cov)))"),),)),
        Mistake("symmetric_square_root",
                "you used the symmetric square root of C: its draws have covariance C too, "
                "but they are not the draws asked for; the same eps must give the same z, "
                "through the Cholesky factor (lower triangular, positive diagonal)",
                _sample_variant("symmetric"),
                ((_FACTOR, "vals, vecs = np.linalg.eigh(cov)\n"
                           "    factor = vecs @ np.diag(np.sqrt(vals)) @ vecs.T"),),
                forms=(((_FACTOR, "u, s, vt = np.linalg.svd(cov)\n"
                                  "    factor = u @ np.diag(np.sqrt(s)) @ vt"),),)),
    ))


#: The hints, level 1 (where to start) to 3 (the formula): Markdown with
#: $...$ maths, shown by ``tinyae exercises hint`` and the course book.
HINTS = (
    r"""For the fit, expand
$\sum_i (z_i - \bar z)(z_i - \bar z)^\top = \sum_i (z_i - \mu)(z_i - \mu)^\top - n (\bar z - \mu)(\bar z - \mu)^\top$
and take expectations: each of the $n$ terms of the first sum has expectation $\Sigma$,
and $\mathbb E (\bar z - \mu)(\bar z - \mu)^\top = \Sigma / n$. For the samples, use
$\mathbb E\, \epsilon \epsilon^\top = I$ and linearity: $\mathrm{Cov}(A \epsilon) = A\, \mathrm{Cov}(\epsilon)\, A^\top$.""",
    r"""The expectation above is $(n - 1)\Sigma$, which fixes the normaliser. In NumPy,
centre the codes (`codes - codes.mean(axis=0)`, broadcasting over rows) and form all the
outer products at once as one $(d, n) \times (n, d)$ product. For the samples: row $i$ of
`z` must be $(m + L \epsilon_i)^\top = m^\top + \epsilon_i^\top L^\top$, and stacking the
rows $\epsilon_i^\top$ is exactly the array `eps`.""",
    r"""$$C = \frac{1}{n - 1} \sum_i (z_i - \bar z)(z_i - \bar z)^\top, \qquad
z = m + \epsilon L^\top \ \text{(rows)}, \quad C = L L^\top .$$

In code: `centred = codes - mean`, `cov = centred.T @ centred / (n - 1)`;
`factor = np.linalg.cholesky(cov)`, `z = mean + eps @ factor.T`. (`np.cov(codes,
rowvar=False)` computes the same C but returns a 0-d array for $d = 1$ and float64 for
float32 codes.)""",
)
