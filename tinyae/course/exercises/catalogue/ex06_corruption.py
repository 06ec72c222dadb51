"""Exercise 6: masking and Gaussian corruption: the spec and its catalogue of
mistakes (the source is ``sources/ex06_corruption.py``)."""

from .... import functional as F
from ..specs import DTYPES, Case, Exercise, Mistake, attempt
from .base import train


def _corrupt_program(f, x, u, e, fraction, sigma):
    return {"masked": attempt(f["masking_corrupt"], x, u, fraction),
            "noisy": attempt(f["gaussian_corrupt"], x, e, sigma)}


def _corrupt_inputs(shape, fraction, sigma):
    def make(rng):
        return {"x": rng.uniform(0, 1, shape), "fraction": fraction, "sigma": sigma}
    return make


def _corrupt_cases(rng):
    cases = []
    for label, shape, fraction, sigma in [("batch 4 x 10", (4, 10), 0.25, 0.3),
                                          ("batch 1, half masked", (1, 12), 0.5, 1.5),
                                          ("width 1", (6, 1), 0.3, 0.5),
                                          ("images (2, 1, 4, 4)", (2, 1, 4, 4), 0.4, 0.2)]:
        x = rng.uniform(0, 1, shape)
        # the draws are float64 whatever x's dtype, as tinyae.corruption makes them
        u, e = rng.random(shape), rng.standard_normal(shape)
        for dtype in DTYPES:
            cases.append(Case(f"{label}, {dtype.name}", dtype,
                              {"x": x.astype(dtype), "u": u, "e": e, "fraction": fraction,
                               "sigma": sigma}))
    return cases


def _divided_by_kept_share(x, u, fraction):
    """Inverted dropout with the share of inputs this draw kept (the mask's
    mean) in place of its expectation 1 - fraction."""
    keep = (u >= fraction).astype(x.dtype)
    return x * keep / keep.mean()


CORRUPTION = Exercise(
    number=6, slug="corruption", title="masking and Gaussian corruption",
    functions=("masking_corrupt", "gaussian_corrupt"),
    reference={"masking_corrupt": F.masking_corrupt, "gaussian_corrupt": F.gaussian_corrupt},
    program=_corrupt_program, cases=_corrupt_cases,
    integration=lambda f: [
        train(f, ("masking_corrupt",), "your masking", corruption=("masking", 0.25)),
        train(f, ("gaussian_corrupt",), "your Gaussian noise", corruption=("gaussian", 0.3))],
    mistakes=(
        Mistake("mask_inverted",
                "you kept the inputs you should drop: an input is dropped where u < "
                "fraction, so it survives with probability 1 - fraction",
                {"masking_corrupt": lambda x, u, fraction: x * (u < fraction).astype(x.dtype)},
                (("x * (u >= fraction).astype(x.dtype)", "x * (u < fraction).astype(x.dtype)"),),
                forms=((("return x * (u >= fraction).astype(x.dtype)",
                         "return np.where(u >= fraction, 0, x)"),),)),
        Mistake("mask_rescaled",
                "you divided the kept inputs by 1 - fraction (inverted dropout): a denoising "
                "autoencoder's corruption only drops; the clean x is the target",
                ({"masking_corrupt": lambda x, u, fraction:
                    x * (u >= fraction).astype(x.dtype) / (1 - fraction)},
                 {"masking_corrupt": _divided_by_kept_share}),
                (("x * (u >= fraction).astype(x.dtype)",
                  "x * (u >= fraction).astype(x.dtype) / (1 - fraction)"),),
                forms=((("return x * (u >= fraction).astype(x.dtype)",
                         "keep = (u >= fraction).astype(x.dtype)\n"
                         "    return x * keep / keep.mean()"),),)),
        Mistake("noise_sigma_squared",
                "your noise has standard deviation sigma^2: sigma is the standard "
                "deviation, so add sigma * e",
                {"gaussian_corrupt": lambda x, e, sigma: (x + sigma ** 2 * e).astype(x.dtype)},
                (("(x + sigma * e)", "(x + sigma ** 2 * e)"),),
                forms=((("(x + sigma * e)", "(x + sigma * sigma * e)"),),)),
        Mistake("noise_upcast",
                "your noisy x is float64 for a float32 x: the draws e are float64 and "
                "x + sigma * e is promoted; cast back with .astype(x.dtype)",
                {"gaussian_corrupt": lambda x, e, sigma: x + sigma * e},
                (("(x + sigma * e).astype(x.dtype)", "x + sigma * e"),),
                forms=((("(x + sigma * e).astype(x.dtype)",
                         "x.astype(np.float64) + sigma * e"),),)),
    ))


#: The hints, level 1 (where to start) to 3 (the formula): Markdown with
#: $...$ maths, shown by ``tinyae exercises hint`` and the course book.
HINTS = (
    r"""Each corruption is one line of array arithmetic, entry by entry, for any shape. For
masking, build the keep mask from `u` and `fraction` (a boolean array shaped like $x$)
and multiply by it; mind the boundary: an entry whose $u$ equals fraction is kept. For
$E[\tilde x]$: an entry is kept with probability $1 - \text{fraction}$, and $E[e] = 0$.""",
    r"""The dtype: `u` and `e` are float64, so `x * mask` with a float64 mask, or
`x + sigma * e`, is float64 even when $x$ is float32. Turn the mask into $x$'s dtype
before multiplying (`.astype(x.dtype)`) and cast the Gaussian result back the same way.
Return a new array; do not modify $x$ in place.""",
    r"""$$\tilde x = x \cdot [u \ge \text{fraction}], \qquad \tilde x = x + \sigma e,$$

each in $x$'s dtype: `x * (u >= fraction).astype(x.dtype)` and
`(x + sigma * e).astype(x.dtype)`. Under masking
$E[\tilde x] = (1 - \text{fraction})\, x$; the autoencoder learns to undo that
shrinkage, because its target is the clean $x$.""",
)
